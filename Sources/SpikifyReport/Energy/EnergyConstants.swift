import Foundation

/// Energy per operation, in picojoules, and the rule that scales integer operations with bit width
/// (docs/energy.md, "Constants").
///
/// The defaults are the field's convention: Horowitz, "Computing's energy problem (and what we can do about it)",
/// ISSCC 2014, Table for 45 nm CMOS — a 32-bit float multiply-accumulate costs 4.6 pJ (3.7 mult + 0.9 add) and a
/// 32-bit float accumulate 0.9 pJ; integer multiply 0.2 pJ (8 bit) and 3.1 pJ (32 bit), integer add 0.03 pJ
/// (8 bit) and 0.1 pJ (32 bit). These are the numbers Spikformer (Zhou et al., ICLR 2023) and SpikeZIP-TF
/// (You et al., ICML 2024) use for their energy comparisons.
public struct EnergyConstants: Sendable, Equatable {
    /// A 32-bit floating-point multiply-accumulate (ANN operation).
    public var macPJ: Double
    /// A 32-bit floating-point accumulate (SNN synaptic operation).
    public var acPJ: Double
    public var int8MultiplyPJ: Double
    public var int8AddPJ: Double
    public var int32MultiplyPJ: Double
    public var int32AddPJ: Double
    /// Where the numbers come from, printed with every estimate.
    public var source: String

    public init(macPJ: Double, acPJ: Double, int8MultiplyPJ: Double, int8AddPJ: Double, int32MultiplyPJ: Double,
                int32AddPJ: Double, source: String) {
        self.macPJ = macPJ
        self.acPJ = acPJ
        self.int8MultiplyPJ = int8MultiplyPJ
        self.int8AddPJ = int8AddPJ
        self.int32MultiplyPJ = int32MultiplyPJ
        self.int32AddPJ = int32AddPJ
        self.source = source
    }

    /// Horowitz (ISSCC 2014), 45 nm CMOS, 0.9 V.
    public static let horowitz45nm = EnergyConstants(
        macPJ: 4.6, acPJ: 0.9, int8MultiplyPJ: 0.2, int8AddPJ: 0.03, int32MultiplyPJ: 3.1, int32AddPJ: 0.1,
        source: "Horowitz, ISSCC 2014, 45 nm CMOS")

    /// Bits needed for `levels` quantization levels: ⌈log₂ L⌉, at least 1.
    public static func bits(levels: Int) -> Int {
        var bits = 1
        while bits < 62 && (1 << bits) < levels { bits += 1 }
        return bits
    }

    /// The power law `e(b) = e₈ · (b/8)^α` through Horowitz' 8- and 32-bit entries, α = log(e₃₂/e₈) / log 4:
    /// exact at 8 and 32 bits, interpolated between them and extrapolated below 8 and above 32 bits.
    /// (A multiplier's area grows about as b², an adder's as b; the fitted exponents, 1.98 and 0.87, agree.)
    static func powerLaw(bits: Int, at8: Double, at32: Double) -> Double {
        let alpha = Foundation.log(at32 / at8) / Foundation.log(4.0)
        return at8 * Foundation.pow(Double(max(bits, 1)) / 8, alpha)
    }

    /// Integer multiply at `bits` bits (power-law interpolation, see `powerLaw`).
    public func integerMultiplyPJ(bits: Int) -> Double {
        EnergyConstants.powerLaw(bits: bits, at8: int8MultiplyPJ, at32: int32MultiplyPJ)
    }

    /// Integer add at `bits` bits (power-law interpolation, see `powerLaw`).
    public func integerAddPJ(bits: Int) -> Double {
        EnergyConstants.powerLaw(bits: bits, at8: int8AddPJ, at32: int32AddPJ)
    }

    /// An integer multiply-accumulate at `bits` bits: multiply plus add at the same width.
    public func integerMACPJ(bits: Int) -> Double { integerMultiplyPJ(bits: bits) + integerAddPJ(bits: bits) }
}
