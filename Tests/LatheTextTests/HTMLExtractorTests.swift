import Testing
import LatheText

/// Hand-written pages, one per structural case, with the exact text expected.
@Suite struct HTMLExtractorTests {
    static let article = """
        <!DOCTYPE html><html lang="en-GB"><head><title>Bridges of the Rhine | Example News</title>
        <meta property="article:published_time" content="2024-03-05T10:00:00Z">
        <link rel="canonical" href="https://news.example/bridges">
        <style>p { color: red }</style><script>var tracking = "Do not show this";</script></head>
        <body>
        <header class="site-header"><a href="/">Example News</a><nav><ul><li><a href="/world">World</a></li><li><a href="/sport">Sport</a></li></ul></nav></header>
        <div class="layout">
          <main><article class="post">
            <h1>Bridges of the Rhine</h1>
            <div class="share-bar"><a href="#">Share on Facebook</a> <a href="#">Tweet this story</a></div>
            <p>The Rhine is crossed by more than two hundred bridges, from Alpine footbridges to the great railway spans near Cologne.</p>
            <p>Many of them were rebuilt after 1945, often on the piers of their predecessors, and several carry both road and rail.</p>
            <p style="display:none">Hidden paragraph that a reader never sees on the page, however long it is.</p>
            <p>The oldest standing crossing, at Rheinfelden, dates from the nineteenth century and still carries traffic every day.</p>
          </article>
          <section id="comments" class="comments"><h2>Comments</h2>
            <div class="comment"><p>Great article, thanks for writing it, I learned a lot about bridges today!</p></div>
          </section></main>
          <aside class="sidebar"><h3>Most read</h3><ul><li><a href="/a">Ten facts about canals that will surprise you</a></li></ul></aside>
        </div>
        <footer><p>Copyright 2024 Example News. All rights reserved by the publisher and its partners.</p></footer>
        </body></html>
        """

    @Test func boilerplateAroundAnArticleIsRemoved() {
        let page = HTMLExtractor.extract(Self.article)
        #expect(page.text == """
            Bridges of the Rhine
            The Rhine is crossed by more than two hundred bridges, from Alpine footbridges to the great railway spans near Cologne.
            Many of them were rebuilt after 1945, often on the piers of their predecessors, and several carry both road and rail.
            The oldest standing crossing, at Rheinfelden, dates from the nineteenth century and still carries traffic every day.
            """)
    }

    @Test func metadataComesFromTheHead() {
        let page = HTMLExtractor.extract(Self.article)
        #expect(page.title == "Bridges of the Rhine | Example News")
        #expect(page.htmlLang == "en-GB")
        #expect(page.canonicalURL == "https://news.example/bridges")
        #expect(page.published == "2024-03-05T10:00:00Z")
    }

    static func wrap(_ content: String) -> String {
        """
        <html><body><nav><a href="/">Home</a> <a href="/about">About us</a></nav>
        <div id="content">
        <p>This opening paragraph is long enough, with a comma or two, to mark where the content of the page is.</p>
        \(content)
        <p>This closing paragraph is also long enough, with a comma, to belong to the same content block.</p>
        </div></body></html>
        """
    }

    static let opening = "This opening paragraph is long enough, with a comma or two, to mark where the content of the page is."
    static let closing = "This closing paragraph is also long enough, with a comma, to belong to the same content block."

    @Test func listsKeepOneItemPerLine() {
        let html = Self.wrap("<ul><li>Flour, 500 g</li><li>Water,\n 300 g</li></ul><ol><li>Mix</li><li>Bake</li></ol>")
        #expect(HTMLExtractor.extract(html).text == [Self.opening, "Flour, 500 g", "Water, 300 g", "Mix", "Bake", Self.closing].joined(separator: "\n"))
        let markdown = HTMLExtractor.extract(html, options: ExtractionOptions(markdown: true)).text
        #expect(markdown == [Self.opening, "", "- Flour, 500 g\n- Water, 300 g\n1. Mix\n2. Bake", "", Self.closing].joined(separator: "\n"))
    }

    @Test func tablesKeepRowsAsLines() {
        let html = Self.wrap("<table><tr><th>City</th><th>Bridges</th></tr><tr><td>Basel</td><td>6</td></tr><tr><td>Cologne</td><td>8</td></tr></table>")
        #expect(HTMLExtractor.extract(html).text == [Self.opening, "City | Bridges", "Basel | 6", "Cologne | 8", Self.closing].joined(separator: "\n"))
    }

    @Test func codeKeepsItsLayout() {
        let html = Self.wrap("<pre><code>func f() {\n    return 1\n}</code></pre>")
        #expect(HTMLExtractor.extract(html).text == [Self.opening, "func f() {\n    return 1\n}", Self.closing].joined(separator: "\n"))
        let markdown = HTMLExtractor.extract(html, options: ExtractionOptions(markdown: true)).text
        #expect(markdown == [Self.opening, "", "```\nfunc f() {\n    return 1\n}\n```", "", Self.closing].joined(separator: "\n"))
    }

    @Test func headingsBecomeMarkdownHeadings() {
        let html = Self.wrap("<h2>Second part</h2>")
        #expect(HTMLExtractor.extract(html, options: ExtractionOptions(markdown: true)).text
            == [Self.opening, "", "## Second part", "", Self.closing].joined(separator: "\n"))
    }

    @Test func nestedLayoutTablesFindTheArticleCell() {
        let html = """
            <html><body><table width="100%"><tr>
            <td class="menu"><a href="/1">Home</a><br><a href="/2">Archive</a><br><a href="/3">Links</a></td>
            <td><table><tr><td>
              <p>Old pages put their articles in table cells, and this paragraph, with its commas, is one of them.</p>
              <p>A second paragraph in the same cell, long enough to count, shows that the cell is the content.</p>
            </td></tr></table></td>
            </tr></table>
            <table><tr><td><a href="/c">Contact</a> | <a href="/i">Imprint</a></td></tr></table></body></html>
            """
        #expect(HTMLExtractor.extract(html).text == """
            Old pages put their articles in table cells, and this paragraph, with its commas, is one of them.
            A second paragraph in the same cell, long enough to count, shows that the cell is the content.
            """)
    }

    @Test func commentSectionsAndLinkListsInsideTheContentAreCut() {
        let html = Self.wrap("""
            <div class="related-links"><ul><li><a href="/x">Another story about rivers and bridges</a></li><li><a href="/y">And one more</a></li></ul></div>
            <div id="comments"><p>First! This comment is long enough to look like a paragraph of its own, sadly.</p></div>
            """)
        #expect(HTMLExtractor.extract(html).text == [Self.opening, Self.closing].joined(separator: "\n"))
    }

    @Test func hiddenElementsAndHTMLCommentsAreNotText() {
        let html = Self.wrap("""
            <div hidden>Hidden by attribute</div><span aria-hidden="true">icon</span><div class="sr-only">Screen reader only</div>
            <!-- <p>a commented-out paragraph</p> --><noscript>Enable JavaScript</noscript>
            """)
        #expect(HTMLExtractor.extract(html).text == [Self.opening, Self.closing].joined(separator: "\n"))
    }

    @Test func fullContentModeKeepsEverything() {
        let html = "<p>Short answer.</p><pre><code>x = 1</code></pre><ul><li><a href='/doc'>the docs</a></li></ul>"
        #expect(HTMLExtractor.extract(html, options: ExtractionOptions(markdown: true, fullContent: true)).text
            == "Short answer.\n\n```\nx = 1\n```\n\n- the docs")
    }

    @Test func emptyAndBrokenPagesGiveNoText() {
        #expect(HTMLExtractor.extract("").text == "")
        #expect(HTMLExtractor.extract("<html><body><script>x()</script></body></html>").text == "")
        // Unclosed tags and stray bytes: libxml2 recovers, the text survives.
        #expect(HTMLExtractor.extract("<div><p>Unclosed <b>bold text\u{0}</div>").text == "Unclosed bold text")
    }

    @Test func deepNestingDoesNotOverflow() {
        let html = String(repeating: "<div>", count: 5000) + "<p>deep</p>" + String(repeating: "</div>", count: 5000)
        _ = HTMLExtractor.extract(html)
    }

    @Test func aCellIsALayoutCellWhenABlockStartsInsideItLaterOn() {
        // The third cell's paragraph comes after some of its text, when the cell has begun.
        let html = "<table><tr><td>Basel</td><td>6</td><td>before <p>inside</p> after</td></tr></table>"
        #expect(HTMLExtractor.extract(html, options: ExtractionOptions(fullContent: true)).text == "Basel | 6\nbefore\ninside\nafter")
    }

    @Test func prefixedElementsAreNamedByTheirLocalPart() {
        // Word's HTML export writes paragraphs as <o:p>.
        let html = "<div><o:p>First line</o:p><o:p>Second line</o:p></div>"
        #expect(HTMLExtractor.extract(html, options: ExtractionOptions(fullContent: true)).text == "First line\nSecond line")
    }

    @Test func theTitleIncludesTheTextOfElementsInsideIt() {
        #expect(HTMLExtractor.extract("<title>A <b>bold</b>  title</title><p>Body</p>").title == "A bold title")
    }

    @Test func elementsAfterTheRootJoinItOnlyWhenNothingCameBeforeTheRoot() {
        // libxml2's tree builder attaches them to the document's first child.
        let after = "<html><body><p>Inside</p></body></html><p>After</p>"
        let full = ExtractionOptions(fullContent: true)
        #expect(HTMLExtractor.extract(after, options: full).text == "Inside\nAfter")
        #expect(HTMLExtractor.extract("<!DOCTYPE html>" + after, options: full).text == "Inside")
        #expect(HTMLExtractor.extract("<!-- a comment -->" + after, options: full).text == "Inside")
    }

    @Test func scriptAndStyleBodiesEndOnlyAtTheirOwnEndTag() {
        // Markup inside a script is not markup; a script that never closes runs to the end.
        let html = #"<p>one</p><script>var a = "</div><p>not text</p>";</SCRIPT ><p>two</p>"#
            + #"<style>p { content: "</p>" }</style><p>three</p><script>if (a < b) x()</script><p>four</p>"#
            + "<script>never closed <p>lost</p>"
        #expect(HTMLExtractor.extract(html, options: ExtractionOptions(fullContent: true)).text == "one\ntwo\nthree\nfour")
    }

    @Test func aScriptInsideTheTitleIsPartOfIt() {
        #expect(HTMLExtractor.extract("<title>Title <script>and script</script> end</title><p>Body</p>").title == "Title and script end")
    }

    @Test func tagSoupTooDeepStopsTheParseInsteadOfHanging() {
        // Closing a tag searches the open ones: 20,000 open and 20,000 unmatched closes would
        // take libxml2 minutes. The parse stops at the 258th open element; what came before stays.
        let html = "<p>Before the soup</p>" + String(repeating: "<b>", count: 20_000) + "lost"
            + String(repeating: "</div>", count: 20_000) + "<p>After</p>"
        #expect(HTMLExtractor.extract(html, options: ExtractionOptions(fullContent: true)).text == "Before the soup")
    }

    @Test func manyShortParagraphsBesideTheContentAreReadInOnePass() {
        // Each short sibling is checked for a closing full stop; searching the blocks for it
        // made 120,000 of them take 19 s.
        let long = Array(repeating: "A long paragraph of text, with commas, and more commas, that goes on.", count: 20).joined(separator: " ")
        let count = 30_000
        let html = "<html><body><div>\(long)</div>" + String(repeating: "<p>Short one.</p>", count: count) + "</body></html>"
        #expect(HTMLExtractor.extract(html).text == ([long] + Array(repeating: "Short one.", count: count)).joined(separator: "\n"))
    }

    @Test func shortPagesFallBackToAllTheirText() {
        let html = "<html><body><h1>Opening hours</h1><p>Mon-Fri 9-17</p><p>Sat 10-14</p></body></html>"
        #expect(HTMLExtractor.extract(html).text == "Opening hours\nMon-Fri 9-17\nSat 10-14")
    }
}
