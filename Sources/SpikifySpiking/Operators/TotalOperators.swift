import SpikifyCore
import SpikifyModel

/// Method-neutral operators on accumulated totals. Each recomputes its output total from its input totals with
/// the reference network's arithmetic when an input changed, and its increment is the difference of consecutive
/// totals (for a linear layer that is `W·x_t`, SpikeZIP-TF's `LLLinear`: You et al., ICML 2024;
/// docs/methods/spikezip.md). Unchanged inputs cost nothing. Registered by the core (``CoreOperators``).

/// Analog image → patch rows (im2col) of the image's total, recomputed when the image changes (at t = 0 for
/// analog-once input coding). It counts its output events (``OperatorSpec/countsOutputEvents``), so the patch
/// embedding need not read increments of the patches to count its input events.
final class PatchifyOperator: SpikingOperator {
    let input: ValueSlot, output: ValueSlot
    let channels: Int, imageSize: Int, patch: Int

    init(input: ValueSlot, output: ValueSlot, channels: Int, imageSize: Int, patch: Int) {
        self.input = input
        self.output = output
        self.channels = channels
        self.imageSize = imageSize
        self.patch = patch
    }

    func step(_ s: StepContext) {
        let t = s.t, batch = s.batch
        guard input.changed || t == 0 else { output.keep(batch: batch); return }
        let x = input.total.pointer, y = output.total.pointer, c = channels, size = imageSize
        output.stepEvents = output.updateSamples(batch: batch, where: { t == 0 || input.sampleChanged($0) }) { s in
            Patches.im2col(x + s * input.info.perSample, batch: 1, channels: c, height: size, width: size,
                           patch: patch, into: y + s * output.info.perSample)
        }
    }
}

/// Class token and position embedding, added once: the token total is `[cls + pos₀; patches + pos]`.
final class EmbedTokensOperator: SpikingOperator {
    let input: ValueSlot, output: ValueSlot
    let classToken: FloatBuffer, position: FloatBuffer
    /// One sample of the input as floats, where it keeps counts (``ValueSlot/counts``).
    private let sample: FloatBuffer

    init(input: ValueSlot, output: ValueSlot, classToken: Tensor?, position: Tensor) {
        self.input = input
        self.output = output
        self.classToken = FloatBuffer(classToken?.scalars ?? [])
        self.position = FloatBuffer(position.scalars)
        sample = FloatBuffer(count: input.counts == nil ? 0 : input.info.perSample)
    }

    func step(_ s: StepContext) {
        let t = s.t, batch = s.batch
        guard input.changed || t == 0 else { output.keep(batch: batch); return }
        let y = output.total.pointer, rows = input.info.rows
        output.updateSamples(batch: batch, where: { t == 0 || input.sampleChanged($0) }) { s in
            ViTForward.embedTokens(input.rows(s * rows, count: rows, scratch: sample.pointer), batch: 1, patches: rows,
                                   width: output.info.width, classToken: classToken.orNil, position: position.pointer,
                                   into: y + s * output.info.perSample)
        }
    }
}

/// Residual connection: `total = lhs + rhs`.
final class AddOperator: SpikingOperator {
    let lhs: ValueSlot, rhs: ValueSlot, output: ValueSlot

    init(lhs: ValueSlot, rhs: ValueSlot, output: ValueSlot) {
        self.lhs = lhs
        self.rhs = rhs
        self.output = output
    }

    func step(_ s: StepContext) {
        let t = s.t, batch = s.batch
        guard lhs.changed || rhs.changed || t == 0 else { output.keep(batch: batch); return }
        let w = output.info.width
        let lhs = lhs, rhs = rhs, output = output
        output.beginStep(batch: batch)
        Parallel.forChunks(batch * output.info.rows, minimumPerChunk: 64) { rows in
            for r in rows where t == 0 || lhs.rowChanged(r) || rhs.rowChanged(r) {
                _ = output.rewriteRow(r) { y in
                    if lhs.counts == nil && rhs.counts == nil {
                        let a = lhs.total.pointer + r * w, b = rhs.total.pointer + r * w
                        for i in 0..<w { y[i] = a[i] + b[i] }
                        return
                    }
                    // Inputs kept as counts (ValueSlot.counts): the right one's floats into y first, the left
                    // one's added element by element (the same floats, and a + b = b + a).
                    rhs.loadRows(r, count: 1, into: y)
                    lhs.addRows(r, count: 1, to: y)
                }
            }
        }
        output.finishStep(batch: batch)
    }
}

/// Row `index` of each sample (the class token for token pooling).
final class SelectTokenOperator: SpikingOperator {
    let input: ValueSlot, output: ValueSlot
    let index: Int

    init(input: ValueSlot, output: ValueSlot, index: Int) {
        self.input = input
        self.output = output
        self.index = index
    }

    func step(_ s: StepContext) {
        let t = s.t, batch = s.batch
        guard input.changed || t == 0 else { output.keep(batch: batch); return }
        let d = input.info.width, n = input.info.rows, x = input.total.pointer, y = output.total.pointer
        output.updateSamples(batch: batch, where: { t == 0 || input.rowChanged($0 * n + index) }) { b in
            (y + b * d).update(from: x + (b * n + index) * d, count: d)
        }
    }
}

/// Mean of rows `from..<rows` of each sample (average pooling over patch tokens), summed in the QANN's order.
final class MeanTokensOperator: SpikingOperator {
    let input: ValueSlot, output: ValueSlot
    let from: Int

    init(input: ValueSlot, output: ValueSlot, from: Int) {
        self.input = input
        self.output = output
        self.from = from
    }

    func step(_ s: StepContext) {
        let t = s.t, batch = s.batch
        guard input.changed || t == 0 else { output.keep(batch: batch); return }
        let d = input.info.width, n = input.info.rows, x = input.total.pointer, y = output.total.pointer
        output.updateSamples(batch: batch, where: { t == 0 || input.sampleChanged($0) }) { b in
            ViTForward.meanTokens(x + b * n * d, batch: 1, tokens: n, width: d, from: from, into: y + b * d)
        }
    }
}
