/// A fixed-size, manually allocated buffer of scalars for hot loops: a stable pointer with no copy-on-write
/// and no bounds checks. Allocated once (per model or per batch size) and reused, never inside a time loop.
///
/// Sendable by convention: concurrent workers write disjoint ranges.
package final class ScalarBuffer<Element: Numeric & Sendable>: @unchecked Sendable {
    package let pointer: UnsafeMutablePointer<Element>
    package let count: Int

    package init(count: Int) {
        self.count = count
        pointer = .allocate(capacity: max(count, 1))
        pointer.initialize(repeating: 0, count: max(count, 1))
    }

    package convenience init(_ values: [Element]) {
        self.init(count: values.count)
        values.withUnsafeBufferPointer { pointer.update(from: $0.baseAddress!, count: values.count) }
    }

    deinit { pointer.deallocate() }

    package var buffer: UnsafeMutableBufferPointer<Element> { UnsafeMutableBufferPointer(start: pointer, count: count) }
    package var array: [Element] { Array(buffer) }

    package func zero() { pointer.update(repeating: 0, count: count) }

    /// Copies block `from` onto block `to`, blocks being `size` consecutive elements (one sample's state).
    @inline(__always) public func moveBlock(from: Int, to: Int, size: Int) {
        (pointer + to * size).update(from: pointer + from * size, count: size)
    }

    @inline(__always) public subscript(i: Int) -> Element {
        get { pointer[i] }
        set { pointer[i] = newValue }
    }
}

package typealias FloatBuffer = ScalarBuffer<Float>

extension ScalarBuffer where Element == Float {
    /// The pointer, or nil for an empty buffer (an absent bias).
    @inline(__always) package var orNil: UnsafePointer<Float>? { count == 0 ? nil : UnsafePointer(pointer) }
}
