/// A fixed-size, manually allocated buffer of scalars for hot loops: a stable pointer with no copy-on-write
/// and no bounds checks. Allocated once (per model or per batch size) and reused, never inside a time loop.
///
/// Sendable by convention: concurrent workers write disjoint ranges.
package final class ScalarBuffer<Element: Numeric & Sendable & BitwiseCopyable>: @unchecked Sendable {
    @usableFromInline package let pointer: UnsafeMutablePointer<Element>
    package let count: Int

    package init(count: Int) {
        self.count = count
        pointer = .allocate(capacity: max(count, 1))
        UnsafeMutableRawPointer(pointer).initializeMemory(as: UInt8.self, repeating: 0,
                                                          count: max(count, 1) * MemoryLayout<Element>.stride)
    }

    package convenience init(_ values: [Element]) {
        self.init(count: values.count)
        values.withUnsafeBufferPointer { pointer.update(from: $0.baseAddress!, count: values.count) }
    }

    deinit { pointer.deallocate() }

    package var buffer: UnsafeMutableBufferPointer<Element> { UnsafeMutableBufferPointer(start: pointer, count: count) }
    package var array: [Element] { Array(buffer) }

    /// Zeroes every element: one `memset` (the elements are plain numbers, whose zero is all-zero bits; a generic
    /// element-by-element loop would go through value witnesses in other modules).
    package func zero() {
        UnsafeMutableRawPointer(pointer).initializeMemory(as: UInt8.self, repeating: 0,
                                                          count: count * MemoryLayout<Element>.stride)
    }

    /// Copies block `from` onto block `to`, blocks being `size` consecutive elements (one sample's state); one
    /// `memmove`, for the same reason as ``zero()``.
    @inline(__always) public func moveBlock(from: Int, to: Int, size: Int) {
        UnsafeMutableRawPointer(pointer + to * size).copyMemory(from: pointer + from * size,
                                                                byteCount: size * MemoryLayout<Element>.stride)
    }

    /// Inlinable so that other modules' loops get it specialised (a generic call per element otherwise).
    @inlinable public subscript(i: Int) -> Element {
        get { pointer[i] }
        set { pointer[i] = newValue }
    }
}

package typealias FloatBuffer = ScalarBuffer<Float>

extension ScalarBuffer where Element == Float {
    /// The pointer, or nil for an empty buffer (an absent bias).
    @inline(__always) package var orNil: UnsafePointer<Float>? { count == 0 ? nil : UnsafePointer(pointer) }
}
