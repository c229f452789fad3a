import HDF5
import SpikifyCore

/// The datasets of a checkpoint under their canonical names, with shapes, read lazily.
struct CheckpointReader {
    let file: HDF5File
    let layout: WeightLayout
    /// canonical name → dataset path in the file
    let tensors: [String: String]
    /// quantizer site → dataset path of its step size
    let steps: [Site: String]
    /// canonical name → tensor converted in memory (Keras layout); empty for the other layouts
    let converted: [String: KerasLayout.Converted]
    /// configuration derived from the tensors (Keras: `num_heads`, …), read after the root attributes
    let derivedAttributes: [String: HDF5Value]
    var path: String { file.path }

    init(path: String) throws {
        file = try hdf5 { try HDF5File.open(path) }
        let opened = file
        let datasetPaths = try hdf5 { try opened.root.datasetPaths() }
        if KerasLayout.matches(datasetPaths) {
            let keras = try KerasLayout.read(opened, path: path, datasetPaths: datasetPaths)
            (layout, converted, derivedAttributes, steps) = (.keras, keras.tensors, keras.attributes, [:])
            tensors = keras.tensors.mapValues(\.source)
            return
        }
        (converted, derivedAttributes) = ([:], [:])
        var normalised: [(key: String, path: String)] = []
        for p in datasetPaths {
            var key = p.split(separator: "/").joined(separator: ".")
            while let prefix = ["module.", "model."].first(where: { key.hasPrefix($0) }) {
                key.removeFirst(prefix.count)
            }
            normalised.append((key, p))
        }
        guard let layout = WeightLayout.detect(Set(normalised.map(\.key))) else {
            throw SpikifyError.unknownLayout(file: path, sample: normalised.map(\.key))
        }
        self.layout = layout
        var tensors: [String: String] = [:], steps: [Site: String] = [:], unexpected: [String] = []
        var duplicates: [(String, String)] = []
        for (key, p) in normalised {
            switch layout.target(of: key) {
            case .tensor(let raw)?:
                // `blocks.01.x` and `blocks.1.x` name the same tensor.
                let name = CanonicalKeys.blockKey(raw).map { "blocks.\($0.0).\($0.1)" } ?? raw
                if let other = tensors[name] { duplicates.append((other, p)) } else { tensors[name] = p }
            case .step(let site)?:
                if let other = steps[site] { duplicates.append((other, p)) } else { steps[site] = p }
            case .ignored?: break
            case nil: unexpected.append(p)
            }
        }
        if !unexpected.isEmpty { throw SpikifyError.unexpectedKeys(file: path, keys: unexpected.sorted()) }
        // Two keys for one tensor (flat and nested copies, `blocks.01` beside `blocks.1`) are accepted only when
        // they hold the same values.
        for (a, b) in duplicates {
            let (x, y) = try hdf5 { (try opened.root.dataset(a), try opened.root.dataset(b)) }
            let same = try x.shape == y.shape && hdf5 { try x.readFloats() == y.readFloats() }
            if !same {
                throw SpikifyError.invalidData(file: path, message: "'\(a)' and '\(b)' name the same tensor with different "
                    + "values; keep one of them")
            }
        }
        self.tensors = tensors
        self.steps = steps
    }

    func has(_ name: String) -> Bool { tensors[name] != nil }

    func shape(_ name: String) throws -> [Int] {
        if let t = converted[name] { return t.shape }
        guard let p = tensors[name] else { throw SpikifyError.missingKeys(file: path, keys: [name]) }
        return try hdf5 { try file.root.dataset(p).shape }
    }

    /// Reads a tensor, checking its element count against `shape` (any shape with those trailing dims and
    /// leading ones, e.g. `[1, 1, D]` for `[D]`) and that every value is finite.
    func read(_ name: String, shape expected: [Int]) throws -> [Float] {
        if let t = converted[name] { return try readConverted(t, shape: expected) }
        guard let p = tensors[name] else { throw SpikifyError.missingKeys(file: path, keys: [name]) }
        let dataset = try hdf5 { try file.root.dataset(p) }
        var found = dataset.shape
        while found.count > expected.count, found.first == 1 { found.removeFirst() }
        guard found == expected else {
            throw SpikifyError.shapeMismatch(file: path, key: p, expected: expected, found: dataset.shape)
        }
        let values = try hdf5 { try dataset.readFloats() }
        let bad = values.reduce(0) { $0 + ($1.isFinite ? 0 : 1) }
        if bad > 0 { throw SpikifyError.nonFinite(file: path, key: p, count: bad) }
        return values
    }

    /// A BatchNorm running variance: finite and non-negative.
    func readVariance(_ name: String, shape: [Int]) throws -> [Float] {
        let values = try read(name, shape: shape)
        if let bad = values.first(where: { $0 < 0 }) {
            throw SpikifyError.invalidConfig(file: path, message: "'\(tensors[name] ?? name)' holds a negative variance \(bad)")
        }
        return values
    }

    /// An optional tensor (a bias): empty when absent.
    func readOptional(_ name: String, shape: [Int]) throws -> [Float] {
        has(name) ? try read(name, shape: shape) : []
    }

    func readStep(_ site: Site) throws -> Float {
        guard let p = steps[site] else { throw SpikifyError.missingKeys(file: path, keys: [site.name]) }
        let dataset = try hdf5 { try file.root.dataset(p) }
        let values = try hdf5 { try dataset.readFloats() }
        guard values.count == 1 else { throw SpikifyError.shapeMismatch(file: path, key: p, expected: [], found: dataset.shape) }
        guard values[0].isFinite, values[0] > 0 else {
            throw SpikifyError.invalidConfig(file: path, message: "\(layout == .mst ? "QCFS threshold" : "step size") '\(p)' is \(values[0]), expected a positive number")
        }
        return values[0]
    }

    // MARK: Root attributes

    func intAttribute(_ names: String...) throws -> Int? {
        guard let (n, v) = try attributeAny(names) else { return nil }
        switch v {
        case .int(let i): return Int(i)
        case .ints(let a) where a.count == 1: return Int(a[0])
        case .double(let d) where Int(exactly: d) != nil: return Int(exactly: d)
        default: throw SpikifyError.invalidConfig(file: path, message: "attribute '\(n)' is \(v), expected an integer")
        }
    }

    func floatAttribute(_ names: String...) throws -> Float? {
        guard let (n, v) = try attributeAny(names) else { return nil }
        switch v {
        case .double(let d): return Float(d)
        case .int(let i): return Float(i)
        case .doubles(let a) where a.count == 1: return Float(a[0])
        default: throw SpikifyError.invalidConfig(file: path, message: "attribute '\(n)' is \(v), expected a number")
        }
    }

    func floatsAttribute(_ name: String) throws -> [Float]? {
        guard let (n, v) = try attributeAny([name]) else { return nil }
        switch v {
        case .double(let d): return [Float(d)]
        case .doubles(let a): return a.map { Float($0) }
        case .int(let i): return [Float(i)]
        case .ints(let a): return a.map { Float($0) }
        default: throw SpikifyError.invalidConfig(file: path, message: "attribute '\(n)' is \(v), expected numbers")
        }
    }

    func stringAttribute(_ names: String...) throws -> (name: String, value: String)? {
        guard let (n, v) = try attributeAny(names) else { return nil }
        switch v {
        case .string(let s): return (n, s)
        case .strings(let a) where a.count == 1: return (n, a[0])
        default: throw SpikifyError.invalidConfig(file: path, message: "attribute '\(n)' is \(v), expected a string")
        }
    }

    private func attributeAny(_ names: [String]) throws -> (String, HDF5Value)? {
        for n in names {
            if let v = try hdf5({ try file.root.attribute(n) }) { return (n, v) }
        }
        for n in names { if let v = derivedAttributes[n] { return (n, v) } }
        return nil
    }
}
