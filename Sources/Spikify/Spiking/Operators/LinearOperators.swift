/// Operators that are linear in their input, so they pass increments straight through
/// (spikezip.md §3: "mean pooling, dropout and reshapes are linear and pass increments through").

/// Analog image → patch rows at t = 0; zero afterwards (analog input coding).
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

    func reset(batch: Int) { output.isZero = false }

    func step(_ t: Int, batch: Int) {
        guard t == 0 else { output.setZero(batch: batch); return }
        Patches.im2col(input.pointer, batch: batch, channels: channels, height: imageSize, width: imageSize,
                       patch: patch, into: output.pointer)
        output.isZero = false
    }
}

/// `y_t = W·x_t`, with the bias added once, at t = 0 (SpikeZIP-TF `LLLinear`).
final class LinearOperator: SpikingOperator {
    let input: ValueSlot, output: ValueSlot
    let weight: FloatBuffer, bias: FloatBuffer
    let inFeatures: Int, outFeatures: Int
    /// Non-zero input elements seen, summed over samples and steps (synaptic events = this × fan-out).
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
        let rows = batch * input.info.rows
        if input.isZero && (t > 0 || bias.count == 0) { output.setZero(batch: batch); return }
        var events = 0
        let x = input.pointer
        for i in 0..<(rows * inFeatures) where x[i] != 0 { events &+= 1 }
        inputEvents &+= events
        Kernels.linear(x, rows: rows, inFeatures: inFeatures, weight: weight.pointer,
                       bias: t == 0 ? bias.orNil : nil, outFeatures: outFeatures, into: output.pointer)
        output.isZero = false
    }
}

/// Class token and position embedding enter once, at t = 0; later steps pass patch increments through.
final class EmbedTokensOperator: SpikingOperator {
    let input: ValueSlot, output: ValueSlot
    let classToken: FloatBuffer, position: FloatBuffer

    init(input: ValueSlot, output: ValueSlot, classToken: Tensor?, position: Tensor) {
        self.input = input
        self.output = output
        self.classToken = FloatBuffer(classToken?.scalars ?? [])
        self.position = FloatBuffer(position.scalars)
    }

    func reset(batch: Int) {}

    func step(_ t: Int, batch: Int) {
        if t > 0 && input.isZero { output.setZero(batch: batch); return }
        let d = output.info.width, n = output.info.rows, p = input.info.rows, prefix = n - p
        let x = input.pointer, y = output.pointer, pos = position.pointer
        for b in 0..<batch {
            let yb = y + b * n * d
            if prefix == 1 {
                for j in 0..<d { yb[j] = t == 0 ? classToken[j] + pos[j] : 0 }
            }
            let xb = x + b * p * d
            if t == 0 {
                for j in 0..<(p * d) { yb[prefix * d + j] = xb[j] + pos[prefix * d + j] }
            } else {
                (yb + prefix * d).update(from: xb, count: p * d)
            }
        }
        output.isZero = false
    }
}

/// Residual connection: `out = lhs + rhs`.
final class AddOperator: SpikingOperator {
    let lhs: ValueSlot, rhs: ValueSlot, output: ValueSlot

    init(lhs: ValueSlot, rhs: ValueSlot, output: ValueSlot) {
        self.lhs = lhs
        self.rhs = rhs
        self.output = output
    }

    func reset(batch: Int) {}

    func step(_ t: Int, batch: Int) {
        let count = batch * output.info.perSample
        switch (lhs.isZero, rhs.isZero) {
        case (true, true): output.setZero(batch: batch)
        case (false, true): output.pointer.update(from: lhs.pointer, count: count); output.isZero = false
        case (true, false): output.pointer.update(from: rhs.pointer, count: count); output.isZero = false
        case (false, false):
            let a = lhs.pointer, b = rhs.pointer, y = output.pointer
            for i in 0..<count { y[i] = a[i] + b[i] }
            output.isZero = false
        }
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

    func reset(batch: Int) {}

    func step(_ t: Int, batch: Int) {
        if input.isZero { output.setZero(batch: batch); return }
        let d = input.info.width, n = input.info.rows
        for b in 0..<batch { (output.pointer + b * d).update(from: input.pointer + (b * n + index) * d, count: d) }
        output.isZero = false
    }
}

/// Mean of rows `from..<rows` of each sample (average pooling over patch tokens).
final class MeanTokensOperator: SpikingOperator {
    let input: ValueSlot, output: ValueSlot
    let from: Int

    init(input: ValueSlot, output: ValueSlot, from: Int) {
        self.input = input
        self.output = output
        self.from = from
    }

    func reset(batch: Int) {}

    func step(_ t: Int, batch: Int) {
        if input.isZero { output.setZero(batch: batch); return }
        let d = input.info.width, n = input.info.rows
        let inv = 1 / Float(n - from)
        for b in 0..<batch {
            let y = output.pointer + b * d
            y.update(repeating: 0, count: d)
            for r in from..<n { Kernels.add(input.pointer + (b * n + r) * d, into: y, count: d) }
            for j in 0..<d { y[j] *= inv }
        }
        output.isZero = false
    }
}
