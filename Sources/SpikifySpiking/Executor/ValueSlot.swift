import SpikifyCore
import SpikifySIMD

/// One graph value for a whole batch (`[batch·rows, width]`): its accumulated total up to the current step, its
/// increment (the message sent) at this step, and which rows (tokens) have a non-zero increment.
///
/// Operators of total-based methods (SpikeZIP-TF) compute their output totals from input totals with exactly the
/// arithmetic of the reference network, so a settled total *is* the reference value (docs/conversion.md);
/// operators of per-step methods read the increments. Totals are kept for every value, increments only where an
/// operator reads them (``sharesIncrements``).
///
/// **Row flags** let consumers work only where something changed: `rowFlags[r]` (r = sample·rows + row) is 1 when
/// row r's increment may be non-zero this step. Producers that use the row API (``beginStep(batch:)``,
/// ``beginSample(_:)``/``finishSample(_:)``, ``updateRow(_:from:)``, ``finishStep(batch:)``) and the whole-batch
/// helpers (``finishUpdate(batch:)``, ``accumulate(batch:)``, ``keep(batch:)``) keep them exact. A producer that
/// sets ``changed`` directly leaves the rows *unknown*: consumers then treat every row as changed, which costs
/// work but never changes a result (recomputing an unchanged row gives the same total and a zero increment).
///
/// **Transient totals** (``totalIsTransient``): a value read only by the operator that steps right after its
/// producer, and only in the rows flagged changed, keeps no totals between steps: `total` is one of two scratch
/// buffers the executor shares among such values, and every row the producer writes is flagged changed.
///
/// **Counted totals** (``counts``): a value whose totals are integer counts S times a unit θ (an ST-BIF+ layer's
/// output `S·θ`), read only by operators that can read them so, keeps one byte per element instead of a float;
/// readers get the floats from ``loadRows(_:count:into:)`` or ``rows(_:count:scratch:)``, the same `S·θ` the producer
/// would have stored. Where the counts take at most 16 values and the producer keeps 4 bits of its own per element
/// (``CountedOutput/sharesBytesWithProducer``: an ST-BIF+ layer's settle levels), a count takes the high half of
/// its byte and the producer the low half (``nibbleBase``).
///
/// **Tabulated totals** (``countTable``): a value that is a one-to-one function f of a counted value, element by
/// element (``OperatorSpec/elementwiseFunction(_:)``: the differential GELU over an ST-BIF+ layer's counts), keeps
/// nothing of its own: its counts are its source's, read through a table of f, and its row flags and event count are
/// its source's as well (``mirror(_:batch:)``).
package final class ValueSlot: @unchecked Sendable {
    package let info: ValueInfo
    package let total: FloatBuffer
    package let increment: FloatBuffer
    /// Per row of the batch: 1 when its increment may be non-zero this step (see the type's notes).
    @usableFromInline package let rowFlags: ScalarBuffer<UInt8>
    /// Whether ``rowFlags`` describe this step (false after a direct write of ``changed``).
    @exclusivity(unchecked) @usableFromInline package private(set) var rowsKnown = true
    /// False when no increment of the batch is non-zero this step (consumers then skip their work).
    /// (Exclusivity is not checked at run time for these two flags: the hot loops read them for every row, and only
    /// the operator that produces this value writes them, between parallel phases.)
    @exclusivity(unchecked) @usableFromInline package var changed = false { didSet { rowsKnown = false } }

    /// True when no operator reads this value's increments and its producer rewrites them where they change
    /// (``OperatorSpec/readsInputIncrements``, ``OperatorSpec/keepsOutputIncrements``): `increment` is then one
    /// buffer shared by all such values (the executor's), meaningful only inside the producer's step, as scratch for
    /// the rows or samples it rewrites (``rewriteRow(_:_:)``, ``beginSample(_:)``/``finishSample(_:)``); row updates
    /// write no increments into it (``updateRow(_:from:)``). Consumers see the row flags.
    package let sharesIncrements: Bool
    /// Whether the producer counts its events (``OperatorSpec/countsOutputEvents``): then ``stepEvents`` holds, after
    /// its step, the number of non-zero increments over the batch.
    package let countsEvents: Bool
    /// Non-zero increments over the batch at this step, set by a producer that counts them (``countsEvents``).
    package var stepEvents = 0
    /// True when the totals are kept only from the producer's step to its one reader's, the next operator, which
    /// reads only the rows flagged changed (``OperatorSpec/readsChangedInputRowsOnly``,
    /// ``OperatorSpec/writesOutputTotalsAfresh``): `total` is then a scratch buffer shared with other such values
    /// (the executor alternates two), its other rows are meaningless, and every row the producer writes is flagged
    /// changed without comparing it with a previous total (a flag means "may have changed"); the events such a
    /// producer counts are then the row widths, an upper bound no reader uses. The increments are shared as well.
    package let totalIsTransient: Bool
    /// The totals as int8 counts of ``countUnit``, or read through ``countTable`` (nil: kept as floats in `total`,
    /// which is empty otherwise).
    package let counts: ScalarBuffer<Int8>?
    /// The unit θ of ``counts``: a total is `Float(count)·θ` (where there is no ``countTable``).
    package let countUnit: Float
    /// For tabulated totals (see the type's notes), 256 floats: the total of count c is `countTable[c + 128]`.
    package let countTable: FloatBuffer?
    /// Whether ``counts`` are another value's (tabulated totals), which that value's slot resets and moves.
    package let sharesCounts: Bool
    /// Where ``counts`` share their bytes with the producer (see the type's notes): the count of code c (a byte's
    /// high 4 bits) is `c + nibbleBase`; nil where each byte is one int8 count.
    package let nibbleBase: Int?
    /// Tabulated totals over counts in nibbles: the entries of ``countTable`` for the 16 codes. (Counted totals
    /// compute `Float(c + nibbleBase)·θ` instead, the float of `Float(count)·θ`: about 3× faster than a lookup.)
    package let nibbleTable: FloatBuffer?

    /// A slot for `batch` samples; with `sharedIncrement` (at least `batch × perSample` floats) the increments are
    /// that shared buffer (``sharesIncrements``); with `transientTotal` (as large) so are the totals
    /// (``totalIsTransient``, which needs shared increments); with `countUnit` the totals are int8 counts of it
    /// (``counts``), in the high halves of bytes shared with the producer from `nibbleBase` on (``nibbleBase``,
    /// a count of 0 in `nibbleBase...nibbleBase + 15`); with `tabulating` (a counted slot of the same shape) and
    /// `table` (256 floats, f of the counts −128…127 times its unit) the totals are that slot's counts read through
    /// the table (``countTable``).
    package init(_ info: ValueInfo, batch: Int, sharedIncrement: FloatBuffer? = nil, transientTotal: FloatBuffer? = nil,
                 countUnit: Float? = nil, nibbleBase: Int? = nil, countsEvents: Bool = false,
                 tabulating source: ValueSlot? = nil, table: [Float]? = nil) {
        self.countsEvents = countsEvents
        self.info = info
        for buffer in [sharedIncrement, transientTotal].compactMap({ $0 }) {
            precondition(buffer.count >= batch * info.perSample, "shared buffer too small")
        }
        precondition(transientTotal == nil || sharedIncrement != nil, "transient totals need shared increments")
        precondition(transientTotal == nil || countUnit == nil, "counted totals are kept")
        precondition((source == nil) == (table == nil) && (source == nil || countUnit == nil && transientTotal == nil),
                     "tabulated totals need a source and a table, and nothing else")
        if let source {
            precondition(source.counts != nil && source.countTable == nil && source.info.rows == info.rows
                         && source.info.width == info.width && source.rowFlags.count == batch * info.rows
                         && table!.count == 256, "tabulated totals need a counted source of the same shape")
        }
        total = transientTotal ?? FloatBuffer(count: countUnit == nil && source == nil ? batch * info.perSample : 0)
        totalIsTransient = transientTotal != nil
        counts = source?.counts ?? countUnit.map { _ in ScalarBuffer<Int8>(count: batch * info.perSample) }
        sharesCounts = source != nil
        countTable = table.map { FloatBuffer($0) }
        self.countUnit = countUnit ?? 1
        precondition(nibbleBase == nil || countUnit != nil && (-15...0).contains(nibbleBase!),
                     "counts in nibbles need a unit and a count of 0 among their 16 codes")
        self.nibbleBase = source?.nibbleBase ?? nibbleBase
        if let base = self.nibbleBase, let table {
            nibbleTable = FloatBuffer((0..<16).map { table[$0 + base + 128] })
        } else {
            nibbleTable = nil
        }
        increment = sharedIncrement ?? FloatBuffer(count: batch * info.perSample)
        sharesIncrements = sharedIncrement != nil
        rowFlags = ScalarBuffer<UInt8>(count: batch * info.rows)
    }

    /// Zero totals and increments (a new batch).
    package func reset() {
        if !totalIsTransient { total.zero() }
        if !sharesCounts {
            if let counts, let base = nibbleBase {
                // Both halves at the code of 0: the producer's half starts there too (CountedOutput).
                UnsafeMutableRawPointer(counts.pointer).initializeMemory(as: UInt8.self, repeating: UInt8(-base) * 17,
                                                                         count: counts.count)
            } else {
                counts?.zero()
            }
        }
        if !sharesIncrements { increment.zero() }
        rowFlags.zero()
        stepEvents = 0
        setChanged(false)
    }

    /// Sets ``changed`` with the row flags left as they are (they describe this step).
    @inline(__always) private func setChanged(_ value: Bool) {
        changed = value
        rowsKnown = true
    }

    /// Whether row `r` of the batch (sample·rows + row) may have a non-zero increment this step.
    @inlinable package func rowChanged(_ r: Int) -> Bool {
        changed && (!rowsKnown || rowFlags.pointer[r] != 0)
    }

    /// Whether any row of batch position `s` may have a non-zero increment this step.
    package func sampleChanged(_ s: Int) -> Bool {
        guard changed else { return false }
        guard rowsKnown else { return true }
        let n = info.rows, f = rowFlags.pointer + s * n
        for r in 0..<n where f[r] != 0 { return true }
        return false
    }

    // MARK: reading totals

    /// Writes the totals of rows `first..<first + count` (batch rows) as floats into `out` (`count × width`).
    @inline(__always) package func loadRows(_ first: Int, count: Int, into out: UnsafeMutablePointer<Float>) {
        let w = info.width
        if let counts, let nibbleTable {
            spk_nibble_lookup(UnsafeRawPointer(counts.pointer + first * w).assumingMemoryBound(to: UInt8.self),
                              nibbleTable.pointer, out, count * w)
        } else if let counts, let base = nibbleBase {
            let codes = UnsafeRawPointer(counts.pointer + first * w).assumingMemoryBound(to: UInt8.self)
            spk_nibble_counts_to_floats(codes, Int32(base), countUnit, out, count * w)
        } else if let counts, let countTable {
            spk_table_lookup(counts.pointer + first * w, countTable.pointer + 128, out, count * w)
        } else if let counts {
            spk_counts_to_floats(counts.pointer + first * w, countUnit, out, count * w)
        } else {
            out.update(from: total.pointer + first * w, count: count * w)
        }
    }

    /// Adds the totals of rows `first..<first + count` (as ``loadRows(_:count:into:)`` gives them) to `y`
    /// (`count × width`), element by element: `y[i] = total[i] + y[i]`.
    @inline(__always) package func addRows(_ first: Int, count: Int, to y: UnsafeMutablePointer<Float>) {
        let n = count * info.width, offset = first * info.width
        if let counts, let nibbleTable {
            let c = UnsafeRawPointer(counts.pointer + offset).assumingMemoryBound(to: UInt8.self)
            let t = nibbleTable.pointer
            for i in 0..<n { y[i] = t[Int(c[i] >> 4)] + y[i] }
        } else if let counts, let base = nibbleBase {
            let c = UnsafeRawPointer(counts.pointer + offset).assumingMemoryBound(to: UInt8.self)
            let b = Int32(base), unit = countUnit
            for i in 0..<n { y[i] = Float(Int32(c[i] >> 4) + b) * unit + y[i] }
        } else if let counts, let countTable {
            let c = counts.pointer + offset, f = countTable.pointer + 128
            for i in 0..<n { y[i] = f[Int(c[i])] + y[i] }
        } else if let counts {
            let c = counts.pointer + offset, unit = countUnit
            for i in 0..<n { y[i] = Float(c[i]) * unit + y[i] }
        } else {
            let a = total.pointer + offset
            for i in 0..<n { y[i] = a[i] + y[i] }
        }
    }

    /// The totals of rows `first..<first + count` as floats: in place where they are kept as floats, else loaded
    /// into `scratch` (`count × width`), which is returned.
    @inline(__always) package func rows(_ first: Int, count: Int, scratch: UnsafeMutablePointer<Float>)
        -> UnsafeMutablePointer<Float>
    {
        guard counts != nil else { return total.pointer + first * info.width }
        loadRows(first, count: count, into: scratch)
        return scratch
    }

    // MARK: whole-batch updates

    /// Marks the value unchanged this step, zeroing last step's non-zero increments.
    package func keep(batch: Int) {
        stepEvents = 0
        beginStep(batch: batch)
        setChanged(false)
    }

    /// Starts a producer's step: zeroes the increments of the rows that changed last step (all of them when the
    /// rows are unknown) and clears the row flags. Follow with sample or row updates and ``finishStep(batch:)``.
    package func beginStep(batch: Int) {
        guard changed else { return }
        let n = batch * info.rows, w = info.width
        if sharesIncrements {  // nobody reads the increments between steps: only the flags are cleared
            rowFlags.pointer.update(repeating: 0, count: n)
            return
        }
        if !rowsKnown {
            increment.pointer.update(repeating: 0, count: n * w)
            rowFlags.pointer.update(repeating: 0, count: n)
            return
        }
        let f = rowFlags.pointer, d = increment.pointer
        for r in 0..<n where f[r] != 0 {
            (d + r * w).update(repeating: 0, count: w)
            f[r] = 0
        }
    }

    /// Ends a producer's step: ``changed`` is whether any row flag is set.
    package func finishStep(batch: Int) {
        let f = rowFlags.pointer
        var any = false
        for r in 0..<(batch * info.rows) where f[r] != 0 { any = true; break }
        setChanged(any)
    }

    /// Before an operator rewrites (part of) `total`: remember the old totals in `increment`.
    package func beginUpdate(batch: Int) {
        guard !totalIsTransient else { return }
        increment.pointer.update(from: total.pointer, count: batch * info.perSample)
    }

    /// After the rewrite: `increment = total − old total`, the row flags, and whether anything changed.
    package func finishUpdate(batch: Int) {
        for r in 0..<(batch * info.rows) { finishRow(r) }
        finishStep(batch: batch)
    }

    /// After an operator wrote this step's `increment`: `total += increment`, the row flags, and whether anything
    /// changed.
    package func accumulate(batch: Int) {
        precondition(!sharesIncrements, "accumulate needs increments of its own")
        let t = total.pointer, d = increment.pointer, w = info.width, f = rowFlags.pointer
        for r in 0..<(batch * info.rows) {
            var any = false
            for i in (r * w)..<((r + 1) * w) {
                t[i] += d[i]
                any = any || d[i] != 0
            }
            f[r] = any ? 1 : 0
        }
        finishStep(batch: batch)
    }

    // MARK: per-sample and per-row updates (between beginStep and finishStep; disjoint samples may run concurrently)

    /// Before sample `s`'s total is rewritten: its old totals go to its increments.
    @inline(__always) package func beginSample(_ s: Int) {
        guard !totalIsTransient else { return }
        let n = info.perSample
        (increment.pointer + s * n).update(from: total.pointer + s * n, count: n)
    }

    /// After sample `s`'s total was rewritten: its increments and row flags. Returns its non-zero increments.
    @discardableResult @inline(__always) package func finishSample(_ s: Int) -> Int {
        var events = 0
        for r in (s * info.rows)..<((s + 1) * info.rows) { events &+= finishRow(r) }
        return events
    }

    /// Before row `r`'s total is rewritten: its old total goes to its increment.
    @inline(__always) package func beginRow(_ r: Int) {
        guard !totalIsTransient else { return }
        let w = info.width
        (increment.pointer + r * w).update(from: total.pointer + r * w, count: w)
    }

    /// After row `r`'s total was rewritten: `increment = total − increment` (the old total), and its flag. Returns
    /// the row's non-zero increments (for producers that count their events).
    @discardableResult @inline(__always) package func finishRow(_ r: Int) -> Int {
        let w = info.width
        if totalIsTransient {
            rowFlags.pointer[r] = 1
            return w
        }
        let nonZero = spk_finish_row(total.pointer + r * w, increment.pointer + r * w, w)
        rowFlags.pointer[r] = nonZero != 0 ? 1 : 0
        return nonZero
    }

    /// Sets row `r`'s total to `new` (width values): its increment is the difference, its flag whether any is
    /// non-zero. Returns the row's non-zero increments.
    @discardableResult @inline(__always) package func updateRow(_ r: Int, from new: UnsafePointer<Float>) -> Int {
        let w = info.width
        if totalIsTransient {
            let row = total.pointer + r * w
            if row != new { row.update(from: new, count: w) }
            rowFlags.pointer[r] = 1
            return w
        }
        let d = sharesIncrements ? nil : increment.pointer + r * w  // increments nobody reads are not written
        let nonZero = spk_update_row(total.pointer + r * w, d, new, w)
        rowFlags.pointer[r] = nonZero != 0 ? 1 : 0
        return nonZero
    }

    /// Rewrites row `r`: `compute` writes its new total (width values) into the buffer it is given; the increment
    /// becomes the difference and the flag whether any is non-zero. Returns the row's non-zero increments. With
    /// increments kept, `compute` writes the total in place (``beginRow(_:)``, ``finishRow(_:)``); when they are
    /// shared, it writes into the row's part of the shared buffer, which then replaces the total where it differs,
    /// so the old total is neither copied nor the differences stored.
    @inline(__always) package func rewriteRow(_ r: Int, _ compute: (UnsafeMutablePointer<Float>) -> Void) -> Int {
        var events = 0
        rewriteRows(r, count: 1, events: &events, compute)
        return events
    }

    /// ``rewriteRow(_:_:)`` for the consecutive rows `first..<first + count` at once: `compute` writes their new
    /// totals (`count × width` values, row after row) into the buffer it is given, and `events[i]` receives row
    /// `first + i`'s non-zero increments. One call for a run of rows instead of one per row (row kernels on short
    /// rows, such as softmax over 50 keys, spend much of a row's time in the call).
    @inline(__always) package func rewriteRows(_ first: Int, count: Int, events: UnsafeMutablePointer<Int>,
                                               _ compute: (UnsafeMutablePointer<Float>) -> Void) {
        let w = info.width
        if sharesIncrements && !totalIsTransient {
            let fresh = increment.pointer + first * w
            compute(fresh)
            for i in 0..<count { events[i] = updateRow(first + i, from: fresh + i * w) }  // writes no increments
            return
        }
        for i in 0..<count { beginRow(first + i) }  // (transient totals: nothing to remember, every row flagged)
        compute(total.pointer + first * w)
        for i in 0..<count { events[i] = finishRow(first + i) }
    }

    /// One step of a producer that recomputes whole samples: `compute(s)` rewrites the total of every batch
    /// position `s` for which `changed(s)` holds (serially); the others keep their totals with zero increments.
    /// Returns the non-zero increments over the batch (for producers that count their events).
    @discardableResult
    package func updateSamples(batch: Int, where changed: (Int) -> Bool, _ compute: (Int) -> Void) -> Int {
        beginStep(batch: batch)
        var events = 0
        for s in 0..<batch where changed(s) {
            beginSample(s)
            compute(s)
            events &+= finishSample(s)
        }
        finishStep(batch: batch)
        return events
    }

    /// One step of a value with tabulated totals (``countTable``), after its source's producer stepped: the
    /// source's row flags and event count, which are this value's (f is one-to-one with f(0) = 0, so an element
    /// changes exactly where its count does).
    package func mirror(_ source: ValueSlot, batch: Int) {
        precondition(sharesCounts && source.counts === counts && source.countsEvents, "mirrors only its source")
        rowFlags.pointer.update(from: source.rowFlags.pointer, count: batch * info.rows)
        changed = source.changed
        rowsKnown = source.rowsKnown
        stepEvents = source.stepEvents
    }

    /// Marks row `r` as changed or not (operators that write increments and totals of a row themselves).
    @inline(__always) package func setRow(_ r: Int, changed: Bool) { rowFlags.pointer[r] = changed ? 1 : 0 }

    // MARK: queries and compaction

    /// Non-zero increments over the first `batch` samples (a synaptic layer's input events this step): the
    /// producer's count where it keeps one (``countsEvents``), else counted.
    package func nonZeroIncrements(batch: Int) -> Int {
        if countsEvents { return changed ? stepEvents : 0 }
        precondition(!sharesIncrements, "increments of '\(info.name)' are not kept (no operator declared it reads them)")
        guard changed else { return 0 }
        let d = increment.pointer, w = info.width
        var events = 0
        for r in 0..<(batch * info.rows) where rowChanged(r) { events &+= spk_count_nonzero(d + r * w, w) }
        return events
    }

    package func moveSample(from: Int, to: Int) {
        if let counts {
            if !sharesCounts { counts.moveBlock(from: from, to: to, size: info.perSample) }
        } else if !totalIsTransient {
            total.moveBlock(from: from, to: to, size: info.perSample)
        }
        if !sharesIncrements { increment.moveBlock(from: from, to: to, size: info.perSample) }
        rowFlags.moveBlock(from: from, to: to, size: info.rows)
    }
}
