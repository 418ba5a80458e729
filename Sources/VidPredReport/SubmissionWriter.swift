import Foundation
import VidPredData

/// Writes the lab's Kaggle file `submission.csv`: a header `id,0,1,...,N-1` (N = 3*H*W, 6144 at
/// 32x64), then one row per frame: the id (630 * video + frame) and the frame's pixels as
/// rint(x * 255) clipped to [0, 255], in C, H, W order. Frame 0 is the given first frame.
///
/// Rows are streamed to a hidden temporary file (five 630-frame videos make about 60 MB) that is
/// renamed into place by `finish()`, so a reader never sees a partial file.
public final class SubmissionWriter {
    /// The lab's ids step by 630 frames per video.
    public static let labFramesPerVideo = 630

    public let url: URL
    public let valuesPerFrame: Int
    /// id = idStride * video + frame.
    public let idStride: Int
    private let temporary: URL
    private let handle: FileHandle
    private var finished = false
    private var usedIDs = Set<Int>()

    /// Digits of 0...255, precomputed: formatting 20 million numbers with String(format:) is slow.
    private static let digits: [[UInt8]] = (0...255).map { Array(String($0).utf8) }

    public init(url: URL, valuesPerFrame: Int, idStride: Int = SubmissionWriter.labFramesPerVideo) throws {
        precondition(valuesPerFrame > 0 && idStride > 0)
        self.url = url
        self.valuesPerFrame = valuesPerFrame
        self.idStride = idStride
        try FileOutput.makeFolder(url.deletingLastPathComponent())
        temporary = FileOutput.temporaryURL(for: url)
        guard FileManager.default.createFile(atPath: temporary.path, contents: nil),
              let handle = try? FileHandle(forWritingTo: temporary) else {
            throw ReportError("cannot write \(url.path): check that \(url.deletingLastPathComponent().path) is writable")
        }
        self.handle = handle
        var header = "id"
        for i in 0..<valuesPerFrame { header += ",\(i)" }
        try write(Data((header + "\n").utf8))
    }

    deinit {
        if !finished {
            try? handle.close()
            try? FileManager.default.removeItem(at: temporary)
        }
    }

    /// Appends the rows of one video: `frames` holds `count` planar frames back to back.
    public func append(video: Int, frames: [Float], count: Int) throws {
        guard frames.count == count * valuesPerFrame else {
            throw ReportError("submission.csv: video \(video) has \(frames.count) samples, expected \(count) frames x \(valuesPerFrame)")
        }
        guard count <= idStride else {
            throw ReportError("submission.csv: video \(video) has \(count) frames but ids step by \(idStride) per video; use a larger id stride")
        }
        var row: [UInt8] = []
        row.reserveCapacity(valuesPerFrame * 4 + 16)
        for t in 0..<count {
            let id = idStride * video + t
            guard usedIDs.insert(id).inserted else { throw ReportError("submission.csv: id \(id) written twice (video \(video) appended twice?)") }
            row.removeAll(keepingCapacity: true)
            row += Array(String(id).utf8)
            frames.withUnsafeBufferPointer { pixels in
                for i in (t * valuesPerFrame)..<((t + 1) * valuesPerFrame) {
                    row.append(0x2C)  // ","
                    row += Self.digits[Int(RGBImage.quantize(pixels[i]))]
                }
            }
            row.append(0x0A)
            try write(Data(row))
        }
    }

    /// Flushes and renames the file into place.
    public func finish() throws {
        guard !finished else { return }
        finished = true
        do {
            try handle.synchronize()
            try handle.close()
        } catch {
            throw ReportError("cannot finish \(url.path): \(error.localizedDescription)")
        }
        try FileOutput.moveIntoPlace(temporary, url)
    }

    private func write(_ data: Data) throws {
        do {
            try handle.write(contentsOf: data)
        } catch {
            throw ReportError("cannot write \(url.path): \(error.localizedDescription) (disk full?)")
        }
    }
}
