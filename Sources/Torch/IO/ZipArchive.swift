import Foundation

/// The part of the zip format PyTorch's `torch.save` uses: entries stored without compression,
/// each entry's data aligned to 64 bytes (padding in the local header's extra field, as PyTorch
/// does), zip64 records when the archive needs them. Reading checks every entry's CRC-32, so a
/// damaged `.ckpt` is refused rather than loaded as wrong weights.
public enum ZipArchive {
    /// The entries of an archive, by name, as ranges of the archive's bytes.
    public struct Reader {
        public let data: Data
        public let source: String
        /// Entry names in archive order.
        public let names: [String]
        private let ranges: [String: Range<Int>]

        public init(_ data: Data, source: String) throws {
            self.data = data
            self.source = source
            let bytes = [UInt8](data)
            func fail(_ why: String) -> TorchError {
                TorchError("\(source): not a readable zip archive (\(why)); is it a checkpoint written by torch.save, and complete?")
            }
            func u16(_ at: Int) throws -> Int {
                guard at >= 0, at + 2 <= bytes.count else { throw fail("a record runs past the end of the file") }
                return Int(bytes[at]) | Int(bytes[at + 1]) << 8
            }
            func u32(_ at: Int) throws -> Int { let low = try u16(at), high = try u16(at + 2); return low | high << 16 }
            func u64(_ at: Int) throws -> Int {
                let low = try u32(at), high = try u32(at + 4)
                let value = UInt64(low) | UInt64(high) << 32
                guard value <= UInt64(bytes.count) else { throw fail("an offset or size beyond the file") }
                return Int(value)
            }
            // The end-of-central-directory record: 22 bytes plus a comment of at most 65535.
            let lowest = max(0, bytes.count - 22 - 65535)
            guard bytes.count >= 22,
                  let end = stride(from: bytes.count - 22, through: lowest, by: -1).first(where: { (try? u32($0)) == 0x0605_4b50 })
            else { throw fail("no end-of-central-directory record: truncated?") }
            var count = try u16(end + 10), directoryOffset = try u32(end + 16)
            if count == 0xFFFF || directoryOffset == 0xFFFF_FFFF {
                // zip64: the locator just before the record points at the zip64 record.
                guard end >= 20, try u32(end - 20) == 0x0706_4b50 else { throw fail("zip64 locator missing") }
                let record = try u64(end - 20 + 8)
                guard try u32(record) == 0x0606_4b50 else { throw fail("zip64 end record missing") }
                count = try u64(record + 32)
                directoryOffset = try u64(record + 48)
            }
            var names: [String] = [], ranges: [String: Range<Int>] = [:]
            var at = directoryOffset
            for _ in 0..<count {
                guard try u32(at) == 0x0201_4b50 else { throw fail("central directory entry \(names.count) is damaged") }
                let method = try u16(at + 10), crc = UInt32(try u32(at + 16))
                var compressed = try u32(at + 20), size = try u32(at + 24)
                let nameLength = try u16(at + 28), extraLength = try u16(at + 30), commentLength = try u16(at + 32)
                var localOffset = try u32(at + 42)
                guard at + 46 + nameLength <= bytes.count else { throw fail("an entry name runs past the end of the file") }
                let name = String(decoding: bytes[(at + 46)..<(at + 46 + nameLength)], as: UTF8.self)
                // zip64 extended information: the 64-bit values of the fields that read 0xFFFFFFFF, in order.
                var extra = at + 46 + nameLength
                let extraEnd = extra + extraLength
                while extra + 4 <= extraEnd {
                    let id = try u16(extra), length = try u16(extra + 2)
                    if id == 0x0001 {
                        var field = extra + 4
                        if size == 0xFFFF_FFFF { size = try u64(field); field += 8 }
                        if compressed == 0xFFFF_FFFF { compressed = try u64(field); field += 8 }
                        if localOffset == 0xFFFF_FFFF { localOffset = try u64(field) }
                    }
                    extra += 4 + length
                }
                guard method == 0, compressed == size else {
                    throw fail("entry \(name) is compressed (method \(method)); PyTorch stores entries uncompressed")
                }
                guard try u32(localOffset) == 0x0403_4b50 else { throw fail("the local header of \(name) is damaged") }
                let localName = try u16(localOffset + 26), localExtra = try u16(localOffset + 28)
                let start = localOffset + 30 + localName + localExtra
                guard start + size <= bytes.count else { throw fail("entry \(name) runs past the end of the file: truncated?") }
                let actual = bytes.withUnsafeBytes { CRC32.checksum(UnsafeRawBufferPointer(rebasing: $0[start..<(start + size)])) }
                guard actual == crc else { throw fail("entry \(name) does not match its CRC-32: the file is damaged") }
                names.append(name)
                ranges[name] = start..<(start + size)
                at += 46 + nameLength + extraLength + commentLength
            }
            self.names = names
            self.ranges = ranges
        }

        /// The bytes of an entry, nil when the archive has none of that name.
        public func entry(_ name: String) -> Data? {
            ranges[name].map { data.subdata(in: data.startIndex + $0.lowerBound..<data.startIndex + $0.upperBound) }
        }
    }

    /// An archive of stored entries in the given order, each entry's data starting at a multiple
    /// of `alignment` bytes. Zip64 records are written when the archive passes 4 GB.
    public static func write(_ entries: [(name: String, data: Data)], alignment: Int = 64) -> Data {
        var out = Data()
        func u16(_ v: Int) { out.append(contentsOf: [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF)]) }
        func u32(_ v: Int) { u16(v & 0xFFFF); u16((v >> 16) & 0xFFFF) }
        func u64(_ v: Int) { u32(v & 0xFFFF_FFFF); u32(v >> 32) }
        let limit = 0xFFFF_FFFF
        var directory: [(name: [UInt8], crc: UInt32, size: Int, offset: Int)] = []
        for entry in entries {
            let name = Array(entry.name.utf8)
            let crc = entry.data.withUnsafeBytes { CRC32.checksum($0) }
            let offset = out.count
            let big = entry.data.count >= limit || offset >= limit
            // Local header; the extra field holds the zip64 sizes when needed, then padding ("FB",
            // PyTorch's id) so the data is aligned.
            let zip64Length = big ? 20 : 0
            let unpadded = offset + 30 + name.count + zip64Length + 4
            let padding = (alignment - unpadded % alignment) % alignment
            u32(0x0403_4b50); u16(big ? 45 : 20); u16(0); u16(0); u16(0); u16(0x21)  // version, flags, stored, time, date
            u32(Int(crc)); u32(big ? limit : entry.data.count); u32(big ? limit : entry.data.count)
            u16(name.count); u16(zip64Length + 4 + padding)
            out.append(contentsOf: name)
            if big { u16(0x0001); u16(16); u64(entry.data.count); u64(entry.data.count) }
            u16(0x4246); u16(padding); out.append(Data(count: padding))
            out.append(entry.data)
            directory.append((name, crc, entry.data.count, offset))
        }
        let directoryStart = out.count
        for item in directory {
            let big = item.size >= limit || item.offset >= limit
            u32(0x0201_4b50); u16(big ? 45 : 20); u16(big ? 45 : 20); u16(0); u16(0); u16(0); u16(0x21)
            u32(Int(item.crc)); u32(big ? limit : item.size); u32(big ? limit : item.size)
            u16(item.name.count); u16(big ? 28 : 0); u16(0); u16(0); u16(0); u32(0); u32(big ? limit : item.offset)
            out.append(contentsOf: item.name)
            if big { u16(0x0001); u16(24); u64(item.size); u64(item.size); u64(item.offset) }
        }
        let directorySize = out.count - directoryStart
        let needs64 = directoryStart >= limit || directory.count >= 0xFFFF
        if needs64 {
            let record = out.count
            u32(0x0606_4b50); u64(44); u16(45); u16(45); u32(0); u32(0)
            u64(directory.count); u64(directory.count); u64(directorySize); u64(directoryStart)
            u32(0x0706_4b50); u32(0); u64(record); u32(1)
        }
        u32(0x0605_4b50); u16(0); u16(0)
        u16(needs64 ? 0xFFFF : directory.count); u16(needs64 ? 0xFFFF : directory.count)
        u32(needs64 ? limit : directorySize); u32(needs64 ? limit : directoryStart); u16(0)
        return out
    }
}
