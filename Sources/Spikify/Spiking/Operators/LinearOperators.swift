/// Operators that are linear in their input. Each recomputes its output total from its input total with the
/// QANN's arithmetic when the input changed (the increment `W·x_t` of SpikeZIP-TF's `LLLinear` is the difference
/// of two such totals, spikezip.md §3); unchanged inputs cost nothing.

/// Analog image → patch rows at t = 0; nothing afterwards (analog input coding).
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

    func step(_ t: Int, batch: Int) {
        guard t == 0 else { output.keep(batch: batch); return }
        output.beginUpdate(batch: batch)
        Patches.im2col(input.total.pointer, batch: batch, channels: channels, height: imageSize, width: imageSize,
                       patch: patch, into: output.total.pointer)
        output.finishUpdate(batch: batch)
    }
}

/// `Y = W·X̂ + b` on the accumulated input: the bias enters once, with the first output (SpikeZIP-TF `LLLinear`).
final class LinearOperator: SpikingOperator {
    let input: ValueSlot, output: ValueSlot
    let weight: FloatBuffer, bias: FloatBuffer
    let inFeatures: Int, outFeatures: Int
    /// Non-zero input increments seen, summed over samples and steps (synaptic events = this × fan-out).
    private(set) var inputEvents = 0

    init(input: ValueSlot, output: ValueSlot, weight: Tensor, bias: Tensor?) {
        self.input = input
        self.output = output
        self.weight = FloatBuffer(weight.scalars)
        self.bias = FloatBuffer(bias?.scalars ?? [])
        inFeatures = weight.shape[1]
        outFeatures = weight.shape[0]
    }

    func reset(batch: Int) { inputEvents = 0 }

    func step(_ t: Int, batch: Int) {
        guard input.changed || t == 0 else { output.keep(batch: batch); return }
        let rows = batch * input.info.rows
        let dx = input.increment.pointer
        var events = 0
        for i in 0..<(rows * inFeatures) where dx[i] != 0 { events &+= 1 }
        inputEvents &+= events
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

    func step(_ t: Int, batch: Int) {
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

    func step(_ t: Int, batch: Int) {
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

    func step(_ t: Int, batch: Int) {
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

    func step(_ t: Int, batch: Int) {
        guard input.changed || t == 0 else { output.keep(batch: batch); return }
        let d = input.info.width, n = input.info.rows
        output.beginUpdate(batch: batch)
        ViTForward.meanTokens(input.total.pointer, batch: batch, tokens: n, width: d, from: from,
                              into: output.total.pointer)
        output.finishUpdate(batch: batch)
    }
}
