import SpikifyCore
import SpikifyModel

/// Method-neutral operators on accumulated totals. Each recomputes its output total from its input totals with
/// the reference network's arithmetic when an input changed, and its increment is the difference of consecutive
/// totals (for a linear layer that is `W·x_t`, SpikeZIP-TF's `LLLinear`: You et al., ICML 2024;
/// docs/methods/spikezip.md). Unchanged inputs cost nothing. Registered by the core (``CoreOperators``).

/// Analog image → patch rows (im2col) of the image's total, recomputed when the image changes (at t = 0 for
/// analog-once input coding).
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
        output.beginUpdate(batch: batch)
        Patches.im2col(input.total.pointer, batch: batch, channels: channels, height: imageSize, width: imageSize,
                       patch: patch, into: output.total.pointer)
        output.finishUpdate(batch: batch)
    }
}

/// `Y = W·X̂ + b` on the accumulated input: the bias enters once, with the first output (SpikeZIP-TF `LLLinear`).
final class LinearOperator: SynapticOperator {
    let input: ValueSlot, output: ValueSlot
    let weight: FloatBuffer, bias: FloatBuffer
    let inFeatures: Int, outFeatures: Int
    let layer: String
    var fanOut: Int { outFeatures }
    /// Non-zero input increments over the batch at the last step (synaptic events = this × fan-out).
    private(set) var stepInputEvents = 0

    init(layer: String, input: ValueSlot, output: ValueSlot, weight: Tensor, bias: Tensor?) {
        self.layer = layer
        self.input = input
        self.output = output
        self.weight = FloatBuffer(weight.scalars)
        self.bias = FloatBuffer(bias?.scalars ?? [])
        inFeatures = weight.shape[1]
        outFeatures = weight.shape[0]
    }

    func reset(batch: Int) { stepInputEvents = 0 }

    func step(_ s: StepContext) {
        let t = s.t, batch = s.batch
        stepInputEvents = 0
        guard input.changed || t == 0 else { output.keep(batch: batch); return }
        stepInputEvents = input.nonZeroIncrements(batch: batch)
        output.beginUpdate(batch: batch)
        Kernels.linear(input.total.pointer, samples: batch, rowsPerSample: input.info.rows, inFeatures: inFeatures,
                       weight: weight.pointer, bias: bias.orNil, outFeatures: outFeatures, into: output.total.pointer)
        output.finishUpdate(batch: batch)
    }
}

/// Class token and position embedding, added once: the token total is `[cls + pos₀; patches + pos]`.
final class EmbedTokensOperator: SpikingOperator {
    let input: ValueSlot, output: ValueSlot
    let classToken: FloatBuffer, position: FloatBuffer

    init(input: ValueSlot, output: ValueSlot, classToken: Tensor?, position: Tensor) {
        self.input = input
        self.output = output
        self.classToken = FloatBuffer(classToken?.scalars ?? [])
        self.position = FloatBuffer(position.scalars)
    }

    func step(_ s: StepContext) {
        let t = s.t, batch = s.batch
        guard input.changed || t == 0 else { output.keep(batch: batch); return }
        output.beginUpdate(batch: batch)
        ViTForward.embedTokens(input.total.pointer, batch: batch, patches: input.info.rows, width: output.info.width,
                               classToken: classToken.orNil, position: position.pointer, into: output.total.pointer)
        output.finishUpdate(batch: batch)
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
        let a = lhs.total.pointer, b = rhs.total.pointer, y = output.total.pointer
        output.beginUpdate(batch: batch)
        for i in 0..<(batch * output.info.perSample) { y[i] = a[i] + b[i] }
        output.finishUpdate(batch: batch)
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
        let d = input.info.width, n = input.info.rows
        output.beginUpdate(batch: batch)
        for b in 0..<batch {
            (output.total.pointer + b * d).update(from: input.total.pointer + (b * n + index) * d, count: d)
        }
        output.finishUpdate(batch: batch)
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
        let d = input.info.width, n = input.info.rows
        output.beginUpdate(batch: batch)
        ViTForward.meanTokens(input.total.pointer, batch: batch, tokens: n, width: d, from: from,
                              into: output.total.pointer)
        output.finishUpdate(batch: batch)
    }
}
