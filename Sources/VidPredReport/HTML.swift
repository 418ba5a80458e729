import Foundation

/// Small helpers for writing self-contained HTML: escaping, data URIs, tables.
public enum HTML {
    /// Escapes text for element content and quoted attribute values.
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.count)
        for c in text {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }

    /// A `data:` URI holding the file's bytes, so the page needs nothing beside itself.
    public static func dataURI(_ data: Data, mimeType: String) -> String {
        "data:\(mimeType);base64,\(data.base64EncodedString())"
    }

    /// Lower-case letters, digits and dashes: safe as an element id or a file name.
    public static func slug(_ text: String) -> String {
        var out = ""
        for c in text.lowercased() {
            if c.isASCII && (c.isLetter || c.isNumber) { out.append(c) } else if !out.hasSuffix("-") { out.append("-") }
        }
        while out.hasSuffix("-") { out.removeLast() }
        return out.isEmpty ? "x" : out
    }

    /// A table with a header row; cells are escaped. Columns after the first are right-aligned
    /// when `numeric`.
    public static func table(header: [String], rows: [[String]], numeric: Bool = true) -> String {
        var out = "<table>\n"
        if header.contains(where: { !$0.isEmpty }) {
            out += "<thead><tr>"
            for h in header { out += "<th>\(escape(h))</th>" }
            out += "</tr></thead>\n"
        }
        out += "<tbody>\n"
        for row in rows {
            out += "<tr>"
            for (i, cell) in row.enumerated() {
                out += i > 0 && numeric ? "<td class=\"num\">\(escape(cell))</td>" : "<td>\(escape(cell))</td>"
            }
            out += "</tr>\n"
        }
        return out + "</tbody>\n</table>\n"
    }

    /// The page's style sheet, inlined in every page we write.
    public static let style = """
        body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; margin: 24px auto; max-width: 1360px; color: #222; padding: 0 16px; }
        h1 { font-size: 24px; margin-bottom: 4px; }
        h2 { font-size: 19px; margin-top: 32px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
        h3 { font-size: 15px; margin: 16px 0 6px; }
        .meta { color: #666; font-size: 13px; }
        table { border-collapse: collapse; font-size: 13px; margin: 8px 0; }
        th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; }
        th { background: #f4f4f4; }
        td.num { text-align: right; font-variant-numeric: tabular-nums; }
        .charts { display: flex; flex-wrap: wrap; gap: 12px; }
        .charts svg { border: 1px solid #eee; }
        .videos { display: flex; flex-wrap: wrap; gap: 20px; }
        figure { margin: 0; }
        figcaption { font-size: 13px; color: #555; margin-top: 4px; }
        img.pixel { image-rendering: pixelated; }
        figure.sheet { display: grid; grid-template-columns: auto minmax(0, 1fr); column-gap: 8px; align-items: center; }
        figure.sheet span { grid-column: 1; font-size: 13px; text-align: right; }
        figure.sheet img { grid-column: 2; max-width: 100%; }
        .columns { display: flex; flex-wrap: wrap; gap: 32px; align-items: flex-start; }
        .note { color: #666; font-size: 13px; }
        """

    /// A complete page: a head with the inline style sheet, then `body`.
    public static func page(title: String, body: String) -> String {
        """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(escape(title))</title>
        <style>
        \(style)
        </style>
        </head>
        <body>
        \(body)
        </body>
        </html>

        """
    }
}
