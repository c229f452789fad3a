import Foundation
import SpikifyCore

/// Executes a ViT exactly as timm's `VisionTransformer.forward` in eval mode: patch embedding, class token,
/// position embedding, pre-norm blocks (`x + attn(norm1(x))`, `x + mlp(norm2(x))`), pooling and head.
///
/// Linear layers run on weights packed once where the CPU has AVX-512 or AVX2 (``PackedLinear``: a second copy of the
/// linear weights; a row's result depends neither on its batch nor on its position), output columns spread over
/// the cores; elsewhere on OpenBLAS, one GEMM per image. With a hook (QANN, calibration), attention runs per
/// (image, head) and row kernels per chunk of rows, with BLAS held to one thread. Without a hook (the float ANN), a
/// batch of several images is split into one part per core, each run on its own thread one image at a time; a
/// single image runs with BLAS on one thread throughout, its linear layers' output columns and its attention's query
/// rows spread over the cores (see ``linear(_:samples:rowsPerSample:inFeatures:weight:bias:outFeatures:into:hook:)``).
/// The spiking executor's linear layers make the same choice (``SpikingExecutor``'s `packedWeights`), so that a
/// settled SNN reproduces the QANN's GEMMs bit for bit.
public final class ViTForward: Sendable {
    public let config: ViTConfig
    let w: PreparedWeights
    /// The last batch's scratch buffers, reused by the next call of the same batch size (allocating tens of MB per
    /// call costs page faults); concurrent callers each get their own.
    private let spare = Spare()

    /// The packed weights (``PackedLinear``); nil where the CPU lacks both AVX-512 and AVX2 or packing is off.
    let packer: PackedLinear?

    /// - Parameter packedWeights: whether linear layers run on weights packed at the first call where the CPU allows
    ///   (``PackedLinear``); off, on OpenBLAS as on CPUs without AVX-512 or AVX2. A spiking executor that reproduces
    ///   this network (QANN) must make the same choice.
    public init(_ model: ViTModel, packedWeights: Bool = true) {
        config = model.config
        w = PreparedWeights(model.weights, batchNorm: model.config.blockBatchNorm)
        packer = packedWeights && PackedLinear.available ? PackedLinear() : nil
    }

    /// Logits `[batch, classes]` for normalised images `[batch, channels, height, width]`.
    /// - Parameter hook: called at every ``Site`` in graph order (see ``SiteHook``).
    public func logits(_ images: Tensor, hook: SiteHook? = nil) -> Tensor {
        let c = config
        // Images from data files are checked against the configuration by ImageDatasetReader before they get here.
        precondition(images.rank == 4 && images.shape[1] == c.channels && images.shape[2] == c.imageSize
            && images.shape[3] == c.imageSize, "images \(images.shape) do not fit the model")
        let batch = images.shape[0]
        if hook == nil && batch >= 2 && Parallel.available >= 2 { return logitsInParts(images) }
        // One BLAS thread throughout: this code spreads the work over the cores itself, and OpenBLAS's threaded GEMMs
        // round differently from the one-thread calls that the spiking executor reproduces.
        if Parallel.available >= 2 && BLAS.threads > 1 { return BLAS.withSingleThread { logits(images, hook: hook) } }
        let n = c.tokenCount, d = c.embedDim, rows = batch * n
        let out = FloatBuffer(count: batch * c.numClasses)
        let ws = spare.take(batch: batch) ?? Workspace(config: c, batch: batch)
        defer { spare.give(ws) }
        images.scalars.withUnsafeBufferPointer { img in
            embed(img.baseAddress!, batch: batch, ws: ws, hook: hook)
        }
        for (i, block) in w.blocks.enumerated() {
            attention(block, index: i, batch: batch, ws: ws, hook: hook)
            mlp(block, index: i, rows: rows, ws: ws, hook: hook)
        }
        let pooled = FloatBuffer(count: batch * d)
        pool(batch: batch, ws: ws, into: pooled, hook: hook)
        linear(pooled.pointer, samples: batch, rowsPerSample: 1, inFeatures: d, weight: w.headWeight.pointer,
               bias: w.headBias.orNil, outFeatures: c.numClasses, into: out.pointer, hook: hook)
        return Tensor(shape: [batch, c.numClasses], scalars: out.array)
    }

    /// The batch in one contiguous part per core, each part's forward on its own thread with its loops inline, one
    /// image after the other: one image's activations stay in the core's cache from layer to layer, where a part's
    /// whole batch of them did not (batch 16, 12 alternating rounds, median: ViT-Tiny 1.13×, faster in 10 of 12;
    /// ViT-Small 1.07×, in 12 of 12), and the workspace holds one image (`predict`'s peak RSS on ViT-Tiny at batch
    /// 16: 133 → 89 MB). No image's logits depend on the others', so the bits are those of the whole part
    /// (`ParityTests`).
    private func logitsInParts(_ images: Tensor) -> Tensor {
        let batch = images.shape[0], classes = config.numClasses
        let out = FloatBuffer(count: batch * classes)
        let y = SendablePointer(out.pointer)
        Parallel.forChunks(batch) { part in  // one contiguous chunk per core
            for image in part {
                let logits = Parallel.inline { self.logits(images.slice(rows: image..<image + 1)) }
                logits.scalars.withUnsafeBufferPointer {
                    (y.base + image * classes).update(from: $0.baseAddress!, count: $0.count)
                }
            }
        }
        return Tensor(shape: [batch, classes], scalars: out.array)
    }

    /// Scratch buffers for one batch size.
    final class Workspace: Sendable {
        let x, h, q, k, v, o, branch, mlp, scores, patches: FloatBuffer
        let batch: Int
        init(config c: ViTConfig, batch: Int) {
            self.batch = batch
            let rows = batch * c.tokenCount
            x = FloatBuffer(count: rows * c.embedDim)
            h = FloatBuffer(count: rows * c.embedDim)
            q = FloatBuffer(count: rows * c.embedDim)
            k = FloatBuffer(count: rows * c.embedDim)
            v = FloatBuffer(count: rows * c.embedDim)
            o = FloatBuffer(count: rows * c.embedDim)
            branch = FloatBuffer(count: rows * c.embedDim)
            mlp = FloatBuffer(count: rows * c.mlpDim)
            scores = FloatBuffer(count: batch * c.numHeads * c.tokenCount * c.tokenCount)
            patches = FloatBuffer(count: batch * c.patchCount * c.patchFeatures)
        }
    }

    /// The last workspaces given back, at most one per core (the parts of a split batch run at the same time).
    private final class Spare: @unchecked Sendable {
        private let lock = NSLock()
        private var workspaces: [Workspace] = []
        func take(batch: Int) -> Workspace? {
            lock.withLock {
                guard let i = workspaces.firstIndex(where: { $0.batch == batch }) else { return nil }
                return workspaces.remove(at: i)
            }
        }
        func give(_ w: Workspace) {
            lock.withLock {
                workspaces.append(w)
                if workspaces.count > Parallel.workers { workspaces.removeFirst() }
            }
        }
    }

    /// A linear layer over the batch: on a CPU with AVX-512 or AVX2, ``PackedLinear`` on weights packed at the first
    /// call, output columns spread over the cores (no row's result depends on the others). Elsewhere: one OpenBLAS GEMM
    /// per image with a hook (the QANN, calibration: the references the spiking networks reproduce bit for bit) and for
    /// several images without one, so no image's result depends on its batch; one image without a hook, OpenBLAS with
    /// the output columns spread over the cores.
    private func linear(_ x: UnsafePointer<Float>, samples: Int, rowsPerSample rows: Int, inFeatures k: Int,
                        weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?, outFeatures n: Int,
                        into y: UnsafeMutablePointer<Float>, hook: SiteHook?) {
        if let packer {
            PackedLinear.linear(x, rows: samples * rows, inFeatures: k,
                                packed: packer.packed(weight, outFeatures: n, inFeatures: k), bias: bias,
                                outFeatures: n, into: y)
        } else if hook == nil && samples == 1 && Parallel.available >= 2 {
            Kernels.linearSpreadOverColumns(x, rows: rows, inFeatures: k, weight: weight, bias: bias, outFeatures: n,
                                            into: y)
        } else {
            Kernels.linear(x, samples: samples, rowsPerSample: rows, inFeatures: k, weight: weight, bias: bias,
                           outFeatures: n, into: y)
        }
    }

    private func call(_ hook: SiteHook?, _ site: Site, _ buffer: FloatBuffer, count: Int) {
        hook?(site, UnsafeMutableBufferPointer(start: buffer.pointer, count: count))
    }

    /// Patch embedding (conv as im2col + GEMM), class token and position embedding into `ws.x`.
    private func embed(_ images: UnsafePointer<Float>, batch: Int, ws: Workspace, hook: SiteHook?) {
        let c = config, d = c.embedDim, p = c.patchCount
        Patches.im2col(images, batch: batch, channels: c.channels, height: c.imageSize, width: c.imageSize,
                       patch: c.patchSize, into: ws.patches.pointer)
        let tokens = ws.branch  // [batch·patches, D]
        linear(ws.patches.pointer, samples: batch, rowsPerSample: p, inFeatures: c.patchFeatures,
               weight: w.patchWeight.pointer, bias: w.patchBias.orNil, outFeatures: d, into: tokens.pointer, hook: hook)
        call(hook, Site(.patchEmbed), tokens, count: batch * p * d)
        Self.embedTokens(tokens.pointer, batch: batch, patches: p, width: d, classToken: w.classToken.orNil,
                         position: w.positionEmbedding.pointer, into: ws.x.pointer)
    }

    /// Token sequence `[cls + pos₀; patch tokens + pos]` per sample (without a class token, just patches + pos):
    /// `[batch·patches, D]` → `[batch·tokens, D]`. Shared with the spiking executor, which must add exactly alike.
    package static func embedTokens(_ patchTokens: UnsafePointer<Float>, batch: Int, patches p: Int, width d: Int,
                            classToken: UnsafePointer<Float>?, position pos: UnsafePointer<Float>,
                            into x: UnsafeMutablePointer<Float>) {
        let prefix = classToken == nil ? 0 : 1, n = p + prefix
        for b in 0..<batch {
            if let classToken {
                for j in 0..<d { x[b * n * d + j] = classToken[j] + pos[j] }
            }
            for t in 0..<p {
                let dst = x + (b * n + prefix + t) * d, src = patchTokens + (b * p + t) * d
                let pe = pos + (prefix + t) * d
                for j in 0..<d { dst[j] = src[j] + pe[j] }
            }
        }
    }

    private func attention(_ blk: PreparedBlock, index i: Int, batch: Int, ws: Workspace, hook: SiteHook?) {
        let c = config, n = c.tokenCount, d = c.embedDim, rows = batch * n
        normRows(ws.x, into: ws.h, rows: rows, gamma: blk.norm1Weight, beta: blk.norm1Bias,
                 scale: blk.norm1Scale, shift: blk.norm1Shift)
        call(hook, Site(.norm1, block: i), ws.h, count: rows * d)
        for (part, (buffer, kind)) in [(ws.q, Site.Kind.q), (ws.k, .k), (ws.v, .v)].enumerated() {
            linear(ws.h.pointer, samples: batch, rowsPerSample: n, inFeatures: d,
                   weight: blk.qkvWeight(part: part, dim: d), bias: blk.qkvBias(part: part, dim: d),
                   outFeatures: d, into: buffer.pointer, hook: hook)
            call(hook, Site(kind, block: i), buffer, count: rows * d)
        }
        let scale = 1 / Float(c.headDim).squareRoot()
        for j in 0..<(rows * d) { ws.q.pointer[j] *= scale }
        let blocks = queryBlocks(batch: batch, hook: hook)
        Self.scores(q: ws.q, k: ws.k, into: ws.scores, batch: batch, config: c, blocks: blocks)
        call(hook, Site(.scores, block: i), ws.scores, count: batch * c.numHeads * n * n)
        let sc = SendablePointer(ws.scores.pointer)
        Parallel.forChunks(batch * c.numHeads * n, minimumPerChunk: 64) { r in
            Kernels.softmax(sc.base + r.lowerBound * n, rows: r.count, width: n)
        }
        call(hook, Site(.attn, block: i), ws.scores, count: batch * c.numHeads * n * n)
        Self.weightedValues(attn: ws.scores, v: ws.v, into: ws.o, batch: batch, config: c, blocks: blocks)
        call(hook, Site(.attnV, block: i), ws.o, count: rows * d)
        linear(ws.o.pointer, samples: batch, rowsPerSample: n, inFeatures: d, weight: blk.projWeight.pointer,
               bias: blk.projBias.orNil, outFeatures: d, into: ws.branch.pointer, hook: hook)
        call(hook, Site(.proj, block: i), ws.branch, count: rows * d)
        Kernels.add(ws.branch.pointer, into: ws.x.pointer, count: rows * d)
    }

    private func mlp(_ blk: PreparedBlock, index i: Int, rows: Int, ws: Workspace, hook: SiteHook?) {
        let c = config, d = c.embedDim, m = c.mlpDim, n = c.tokenCount
        normRows(ws.x, into: ws.h, rows: rows, gamma: blk.norm2Weight, beta: blk.norm2Bias,
                 scale: blk.norm2Scale, shift: blk.norm2Shift)
        call(hook, Site(.norm2, block: i), ws.h, count: rows * d)
        linear(ws.h.pointer, samples: rows / n, rowsPerSample: n, inFeatures: d, weight: blk.fc1Weight.pointer,
               bias: blk.fc1Bias.orNil, outFeatures: m, into: ws.mlp.pointer, hook: hook)
        call(hook, Site(.fc1, block: i), ws.mlp, count: rows * m)
        let act = SendablePointer(ws.mlp.pointer), activation = c.activation
        Parallel.forChunks(rows, minimumPerChunk: 16) { r in
            let p = act.base + r.lowerBound * m
            switch activation {
            case .gelu: Kernels.gelu(p, count: r.count * m)
            case .relu: Kernels.relu(p, count: r.count * m)
            }
        }
        linear(ws.mlp.pointer, samples: rows / n, rowsPerSample: n, inFeatures: m,
               weight: blk.fc2Weight.pointer, bias: blk.fc2Bias.orNil, outFeatures: d, into: ws.branch.pointer,
               hook: hook)
        call(hook, Site(.fc2, block: i), ws.branch, count: rows * d)
        Kernels.add(ws.branch.pointer, into: ws.x.pointer, count: rows * d)
    }

    /// Token pooling takes the class token of `norm(x)` (LayerNorm is per token, so only that row is normalised);
    /// average pooling takes the mean of the patch tokens, then `fc_norm`.
    private func pool(batch: Int, ws: Workspace, into pooled: FloatBuffer, hook: SiteHook?) {
        let c = config, n = c.tokenCount, d = c.embedDim
        let gathered = FloatBuffer(count: batch * d)
        let prefix = c.classToken ? 1 : 0
        for b in 0..<batch {
            let dst = gathered.pointer + b * d
            switch c.globalPool {
            case .token:
                dst.update(from: ws.x.pointer + b * n * d, count: d)
            case .avg:
                Self.meanTokens(ws.x.pointer + b * n * d, batch: 1, tokens: n, width: d, from: prefix, into: dst)
            }
        }
        Kernels.layerNorm(gathered.pointer, rows: batch, width: d, gamma: w.finalNormWeight.pointer,
                          beta: w.finalNormBias.pointer, eps: c.layerNormEps, into: pooled.pointer)
        call(hook, Site(.finalNorm), pooled, count: batch * d)
    }

    /// Mean of tokens `from..<tokens` of each sample: `[batch·tokens, width]` → `[batch, width]` (timm's
    /// `x[:, prefix:].mean(dim=1)`), summed in token order, then scaled.
    package static func meanTokens(_ x: UnsafePointer<Float>, batch: Int, tokens n: Int, width d: Int, from: Int,
                           into y: UnsafeMutablePointer<Float>) {
        let inv = 1 / Float(n - from)
        for b in 0..<batch {
            let dst = y + b * d
            dst.update(repeating: 0, count: d)
            for t in from..<n { Kernels.add(x + (b * n + t) * d, into: dst, count: d) }
            for j in 0..<d { dst[j] *= inv }
        }
    }

    /// The block norm: LayerNorm, or (``ViTConfig/blockBatchNorm``) BatchNorm with running statistics as a
    /// per-channel affine map `x·scale + shift`.
    private func normRows(_ x: FloatBuffer, into y: FloatBuffer, rows: Int, gamma: FloatBuffer, beta: FloatBuffer,
                          scale: FloatBuffer, shift: FloatBuffer) {
        guard config.blockBatchNorm != nil else {
            layerNormRows(x, into: y, rows: rows, gamma: gamma, beta: beta)
            return
        }
        let d = config.embedDim
        Self.batchNormRows(x.pointer, rows: rows, width: d, scale: scale.pointer, shift: shift.pointer, into: y.pointer)
    }

    /// BatchNorm in eval mode on rows `[rows, width]`: `y[r, j] = x[r, j]·scale[j] + shift[j]`. Shared with the
    /// spiking operators, which must compute exactly alike.
    package static func batchNormRows(_ x: UnsafePointer<Float>, rows: Int, width d: Int, scale: UnsafePointer<Float>,
                                      shift: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        for r in 0..<rows {
            let src = x + r * d, dst = y + r * d
            for j in 0..<d { dst[j] = src[j] * scale[j] + shift[j] }
        }
    }

    private func layerNormRows(_ x: FloatBuffer, into y: FloatBuffer, rows: Int, gamma: FloatBuffer, beta: FloatBuffer) {
        let d = config.embedDim, eps = config.layerNormEps
        let xs = SendablePointer(x.pointer), ys = SendablePointer(y.pointer)
        let g = SendablePointer(gamma.pointer), bt = SendablePointer(beta.pointer)
        Parallel.forChunks(rows, minimumPerChunk: 32) { r in
            Kernels.layerNorm(xs.base + r.lowerBound * d, rows: r.count, width: d, gamma: g.base, beta: bt.base,
                              eps: eps, into: ys.base + r.lowerBound * d)
        }
    }

    /// Query-row blocks per (image, head) for the attention products: 1 with a hook (the reference's calls) or when
    /// the (image, head) pairs already spread evenly over the cores, else one per core (ViT-Tiny's 3 heads at batch 1).
    private func queryBlocks(batch: Int, hook: SiteHook?) -> Int {
        let cores = Parallel.available
        return hook != nil || (batch * config.numHeads) % cores == 0 ? 1 : cores
    }

    /// `scores[b, h] = q[b, :, h] · k[b, :, h]ᵀ` for q, k laid out `[batch·tokens, D]` with heads as column blocks,
    /// in `blocks` blocks of query rows per (image, head).
    static func scores(q: FloatBuffer, k: FloatBuffer, into scores: FloatBuffer, batch: Int, config c: ViTConfig,
                       blocks: Int = 1) {
        let n = c.tokenCount, d = c.embedDim, hd = c.headDim, heads = c.numHeads
        let qs = SendablePointer(q.pointer), ks = SendablePointer(k.pointer), ss = SendablePointer(scores.pointer)
        Parallel.forChunks(batch * heads * blocks) { r in
            for task in r {
                let item = task / blocks, b = item / heads, h = item % heads
                let lo = n * (task % blocks) / blocks, hi = n * (task % blocks + 1) / blocks
                BLAS.gemm(transposeB: true, m: hi - lo, n: n, k: hd, a: qs.base + (b * n + lo) * d + h * hd, lda: d,
                          b: ks.base + b * n * d + h * hd, ldb: d, c: ss.base + (item * n + lo) * n, ldc: n)
            }
        }
    }

    /// `o[b, :, h] = attn[b, h] · v[b, :, h]`, written into the head's column block of `o` (`[batch·tokens, D]`),
    /// in `blocks` blocks of query rows per (image, head).
    static func weightedValues(attn: FloatBuffer, v: FloatBuffer, into o: FloatBuffer, batch: Int, config c: ViTConfig,
                               blocks: Int = 1) {
        let n = c.tokenCount, d = c.embedDim, hd = c.headDim, heads = c.numHeads
        let a = SendablePointer(attn.pointer), vs = SendablePointer(v.pointer), os = SendablePointer(o.pointer)
        Parallel.forChunks(batch * heads * blocks) { r in
            for task in r {
                let item = task / blocks, b = item / heads, h = item % heads
                let lo = n * (task % blocks) / blocks, hi = n * (task % blocks + 1) / blocks
                BLAS.gemm(m: hi - lo, n: hd, k: n, a: a.base + (item * n + lo) * n, lda: n,
                          b: vs.base + b * n * d + h * hd, ldb: d, c: os.base + (b * n + lo) * d + h * hd, ldc: d)
            }
        }
    }
}
