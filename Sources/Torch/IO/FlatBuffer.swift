import Foundation

/// Read access to a FlatBuffers binary (the format of TFLite models), written from the format's
/// specification: a table starts with a signed 32-bit offset back to its vtable; the vtable holds
/// its own size, the table's size and one 16-bit offset per field (0: absent, the default holds);
/// tables, vectors and strings are reached through unsigned 32-bit offsets relative to where the
/// offset is stored. Every read is bounds-checked: a damaged file is an error, never a crash.
struct FlatBuffer {
    let bytes: [UInt8]
    /// For error messages.
    let source: String

    init(_ bytes: [UInt8], source: String) {
        self.bytes = bytes
        self.source = source
    }

    func fail(_ what: String) -> TorchError { TorchError("\(source): \(what) (the file is damaged or not a TFLite model)") }

    func u8(_ at: Int) throws -> UInt8 {
        guard at >= 0, at < bytes.count else { throw fail("a read at byte \(at) is past the end (\(bytes.count) bytes)") }
        return bytes[at]
    }

    func u16(_ at: Int) throws -> UInt16 { UInt16(try u8(at)) | UInt16(try u8(at + 1)) << 8 }

    func u32(_ at: Int) throws -> UInt32 {
        guard at >= 0, at + 4 <= bytes.count else { throw fail("a read at byte \(at) is past the end (\(bytes.count) bytes)") }
        return UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
    }

    func i32(_ at: Int) throws -> Int32 { Int32(bitPattern: try u32(at)) }

    func u64(_ at: Int) throws -> UInt64 { UInt64(try u32(at)) | UInt64(try u32(at + 4)) << 32 }

    /// The root table.
    func root() throws -> Table { try Table(buffer: self, position: Int(try u32(0))) }

    struct Table {
        let buffer: FlatBuffer
        let position: Int
        private let vtable: Int
        private let vtableSize: Int

        init(buffer: FlatBuffer, position: Int) throws {
            self.buffer = buffer
            self.position = position
            vtable = position - Int(try buffer.i32(position))
            vtableSize = Int(try buffer.u16(vtable))
            guard vtableSize >= 4, vtableSize % 2 == 0 else { throw buffer.fail("a table at byte \(position) has a vtable of \(vtableSize) bytes") }
        }

        /// Where field `index` is stored, or nil when absent.
        func field(_ index: Int) throws -> Int? {
            let entry = 4 + 2 * index
            guard entry + 2 <= vtableSize else { return nil }
            let offset = Int(try buffer.u16(vtable + entry))
            return offset == 0 ? nil : position + offset
        }

        func int(_ index: Int, default value: Int = 0) throws -> Int { try field(index).map { Int(try buffer.i32($0)) } ?? value }
        func uint(_ index: Int, default value: Int = 0) throws -> Int { try field(index).map { Int(try buffer.u32($0)) } ?? value }
        func byte(_ index: Int, default value: Int = 0) throws -> Int { try field(index).map { Int(try buffer.u8($0)) } ?? value }
        func uint64(_ index: Int) throws -> UInt64 { try field(index).map { try buffer.u64($0) } ?? 0 }
        func bool(_ index: Int) throws -> Bool { try byte(index) != 0 }

        /// The position an offset field points to.
        private func target(_ index: Int) throws -> Int? {
            try field(index).map { $0 + Int(try buffer.u32($0)) }
        }

        func table(_ index: Int) throws -> Table? { try target(index).map { try Table(buffer: buffer, position: $0) } }

        func string(_ index: Int) throws -> String? {
            guard let start = try target(index) else { return nil }
            let count = Int(try buffer.u32(start))
            guard start + 4 + count <= buffer.bytes.count else { throw buffer.fail("a string at byte \(start) runs past the end") }
            return String(decoding: buffer.bytes[(start + 4)..<(start + 4 + count)], as: UTF8.self)
        }

        /// A vector field: where its elements start and how many there are.
        private func vector(_ index: Int, elementSize: Int) throws -> (start: Int, count: Int)? {
            guard let start = try target(index) else { return nil }
            let count = Int(try buffer.u32(start))
            guard count >= 0, start + 4 + count * elementSize <= buffer.bytes.count else {
                throw buffer.fail("a vector of \(count) elements at byte \(start) runs past the end")
            }
            return (start + 4, count)
        }

        func tables(_ index: Int) throws -> [Table] {
            guard let (start, count) = try vector(index, elementSize: 4) else { return [] }
            return try (0..<count).map { i in
                let at = start + 4 * i
                return try Table(buffer: buffer, position: at + Int(try buffer.u32(at)))
            }
        }

        func ints(_ index: Int) throws -> [Int] {
            guard let (start, count) = try vector(index, elementSize: 4) else { return [] }
            return try (0..<count).map { Int(try buffer.i32(start + 4 * $0)) }
        }

        func uint16s(_ index: Int) throws -> [Int] {
            guard let (start, count) = try vector(index, elementSize: 2) else { return [] }
            return try (0..<count).map { Int(try buffer.u16(start + 2 * $0)) }
        }

        /// A byte vector's range in the buffer.
        func byteRange(_ index: Int) throws -> Range<Int>? {
            guard let (start, count) = try vector(index, elementSize: 1) else { return nil }
            return start..<(start + count)
        }
    }
}
