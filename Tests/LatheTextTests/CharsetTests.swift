import Testing
import LatheText

@Suite struct CharsetTests {
    func html(_ body: [UInt8], meta: String? = nil) -> [UInt8] {
        Array("<html><head>\(meta.map { "<meta charset=\"\($0)\">" } ?? "")</head><body><p>".utf8) + body + Array("</p></body></html>".utf8)
    }

    @Test func metaCharsetWindows1252() {
        let page = html([0x63, 0x61, 0x66, 0xE9, 0x20, 0x80, 0x35], meta: "iso-8859-1")
        let decoded = Charset.decode(page)
        #expect(decoded.charset == "windows-1252")
        #expect(HTMLExtractor.extract(utf8: decoded.utf8).text == "café €5")
        #expect(decoded.replaced == 0)
    }

    @Test func httpHeaderBeatsMeta() {
        // "日本" in Shift_JIS.
        let page = html([0x93, 0xFA, 0x96, 0x7B], meta: "utf-8")
        let decoded = Charset.decode(page, httpCharset: "Shift_JIS")
        #expect(decoded.charset == "cp932")
        #expect(HTMLExtractor.extract(utf8: decoded.utf8).text == "日本")
    }

    @Test func pageThatLiesAboutItsCharsetIsReadAsUTF8() {
        let page = html(Array("naïve café".utf8), meta: "windows-1252")
        let decoded = Charset.decode(page)
        #expect(decoded.charset == "utf-8")
        #expect(HTMLExtractor.extract(utf8: decoded.utf8).text == "naïve café")
    }

    @Test func invalidUTF8IsReplacedAndCounted() {
        var body = Array("ok ".utf8)
        body += [0xFF]
        body += Array(" still ok, with enough valid multi-byte text: é è ê ë ï î ô ü".utf8)
        let decoded = Charset.decode(html(body, meta: "utf-8"))
        #expect(decoded.replaced == 1)
        #expect(HTMLExtractor.extract(utf8: decoded.utf8).text.hasPrefix("ok \u{FFFD} still ok"))
    }

    @Test func undeclaredLegacyBytesAreWindows1252() {
        let decoded = Charset.decode(html([0x47, 0x72, 0xFC, 0xDF, 0x65]))
        #expect(decoded.charset == "windows-1252")
        #expect(HTMLExtractor.extract(utf8: decoded.utf8).text == "Grüße")
    }

    @Test func byteOrderMarkWins() {
        var utf16: [UInt8] = [0xFF, 0xFE]
        for unit in "<p>Zürich</p>".utf16 { utf16 += [UInt8(unit & 0xFF), UInt8(unit >> 8)] }
        let decoded = Charset.decode(utf16, httpCharset: "iso-8859-1")
        #expect(HTMLExtractor.extract(utf8: decoded.utf8).text == "Zürich")
    }

    @Test func unknownCharsetFallsBackToUTF8() {
        let decoded = Charset.decode(html(Array("plain".utf8), meta: "x-no-such-charset"))
        #expect(decoded.charset == "utf-8")
        #expect(HTMLExtractor.extract(utf8: decoded.utf8).text == "plain")
    }

    @Test func contentTypeParameter() {
        #expect(Charset.parameter("text/html; Charset=\"UTF-8\"") == "UTF-8")
        #expect(Charset.parameter("text/html") == nil)
    }
}
