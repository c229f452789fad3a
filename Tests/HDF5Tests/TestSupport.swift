import CHDF5
import Foundation
import XCTest
@testable import HDF5

/// A test case with a fresh temporary directory per test, removed afterwards.
class HDF5TestCase: XCTestCase {
    /// The temporary directory of the running test.
    var directory = ""

    override func setUpWithError() throws {
        try super.setUpWithError()
        directory = NSTemporaryDirectory() + "hdf5-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
        try super.tearDownWithError()
    }

    /// A path in the temporary directory.
    func path(_ name: String) -> String { directory + "/" + name }

    /// Creates `name` with `body`, closes it, and reopens it read-only.
    func roundTrip(_ name: String = "test.h5", _ body: (HDF5Group) throws -> Void) throws -> HDF5File {
        let p = path(name)
        let file = try HDF5File.create(p)
        try body(file.root)
        try file.close()
        return try HDF5File.open(p)
    }

    /// Asserts that `body` throws an `HDF5Error` and returns it.
    func expectError<T>(_ body: () throws -> T, file: StaticString = #filePath, line: UInt = #line) -> HDF5Error? {
        do {
            _ = try body()
            XCTFail("expected an HDF5Error", file: file, line: line)
        } catch let error as HDF5Error {
            return error
        } catch {
            XCTFail("expected an HDF5Error, got \(error)", file: file, line: line)
        }
        return nil
    }
}

/// Writers for stored types the public API does not produce (other integer widths, byte
/// orders, float32 attributes, fixed-length strings, h5py-style booleans), built on the
/// module's internal writer.
extension HDF5Group {
    func write(_ name: String, integers: [Int64], bits: Int, signed: Bool, bigEndian: Bool = false,
               shape: [Int]) throws {
        try file.writeArray(.dataset(absolute(name)), integers,
                            fileType: HDF5TypeBuilder.integer(bits: bits, signed: signed, bigEndian: bigEndian),
                            memType: spk_h5t_native_int64(), shape: shape)
    }

    func write(_ name: String, numbers: [Double], floatBits: Int, bigEndian: Bool = false,
               shape: [Int]) throws {
        if floatBits == 16 {
            try file.writeFloat16(.dataset(absolute(name)), numbers.map(Float.init), bigEndian: bigEndian,
                                  shape: shape)
            return
        }
        try file.writeArray(.dataset(absolute(name)), numbers,
                            fileType: HDF5TypeBuilder.float(bits: floatBits, bigEndian: bigEndian),
                            memType: spk_h5t_native_double(), shape: shape)
    }

    func write(_ name: String, fixedStrings: [String], length: Int, spacePadded: Bool = false,
               shape: [Int]) throws {
        try file.writeFixedStrings(.dataset(absolute(name)), fixedStrings, length: length,
                                   spacePadded: spacePadded, shape: shape)
    }

    func setAttribute(_ name: String, integers: [Int64], bits: Int, signed: Bool, shape: [Int]) throws {
        try file.writeArray(.attribute(object: path, name: name), integers,
                            fileType: HDF5TypeBuilder.integer(bits: bits, signed: signed),
                            memType: spk_h5t_native_int64(), shape: shape)
    }

    func setAttribute(_ name: String, numbers: [Double], floatBits: Int, shape: [Int]) throws {
        try file.writeArray(.attribute(object: path, name: name), numbers,
                            fileType: HDF5TypeBuilder.float(bits: floatBits),
                            memType: spk_h5t_native_double(), shape: shape)
    }

    func setAttribute(_ name: String, fixedStrings: [String], length: Int, shape: [Int]) throws {
        try file.writeFixedStrings(.attribute(object: path, name: name), fixedStrings, length: length,
                                   spacePadded: false, shape: shape)
    }

    /// An h5py boolean: an enum {FALSE = 0, TRUE = 1} over int8.
    func writeBooleans(_ name: String, _ values: [Bool], shape: [Int], asAttribute: Bool = false) throws {
        let type = H5Tenum_create(spk_h5t_native_int8())
        var no: Int8 = 0, yes: Int8 = 1
        H5Tenum_insert(type, "FALSE", &no)
        H5Tenum_insert(type, "TRUE", &yes)
        let target: WriteTarget = asAttribute ? .attribute(object: path, name: name) : .dataset(absolute(name))
        try file.writeArray(target, values.map { $0 ? Int8(1) : 0 }, fileType: type, memType: type, shape: shape)
    }
}
