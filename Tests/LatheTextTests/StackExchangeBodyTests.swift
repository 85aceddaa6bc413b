import Testing
@testable import LatheText

private func text(_ html: String) -> String { PostBodyText().text(html: html) }

@Test func codeBlockBecomesFencedMarkdown() {
    #expect(text("<p>Try this:</p>\n\n<pre class=\"lang-py prettyprint-override\"><code>def f(x):\n    return x &lt; 2\n\n# done\n</code></pre>\n\n<p>It works.</p>")
        == "Try this:\n\n```py\ndef f(x):\n    return x < 2\n\n# done\n```\n\nIt works.")
    // A fence longer than any backtick run inside; no language for lang-none.
    #expect(text("<pre class=\"lang-none\"><code>echo `date`\n```\n</code></pre>") == "````\necho `date`\n```\n````")
}

@Test func inlineCodeKeepsBackticks() {
    #expect(text("<p>Call <code>f(a &amp;&amp; b)</code> then <code>a`b</code> and <code>`x</code>.</p>")
        == "Call `f(a && b)` then ``a`b`` and `` `x ``.")
}

@Test func listsNestAndNumber() {
    #expect(text("<ul>\n<li>one</li>\n<li>two\n<ul>\n<li>two a</li>\n</ul></li>\n</ul>\n<ol start=\"3\">\n<li>third</li>\n<li>fourth</li>\n</ol>")
        == "- one\n- two\n  - two a\n\n3. third\n4. fourth")
    #expect(text("<ol><li><p>Run:</p><pre><code>make\nmake install\n</code></pre></li><li>Done</li></ol>")
        == "1. Run:\n\n   ```\n   make\n   make install\n   ```\n\n2. Done")  // blocks in an item make the list loose
}

@Test func entitiesLinksAndWhitespace() {
    #expect(text("<p>A &amp; B &lt;tag&gt; &quot;q&quot; caf&eacute;&nbsp;au   lait,\n<a href=\"http://x\">the <b>link</b></a> and <img src=\"i.png\" alt=\"enter image description here\">&#x263A;</p>")
        == "A & B <tag> \"q\" café au lait, the link and ☺")
}

@Test func blockquotesHeadingsRulesBreaks() {
    #expect(text("<p>before</p><blockquote><p>quoted one</p><p>quoted <em>two</em></p></blockquote><p>after</p>")
        == "before\n\n> quoted one\n>\n> quoted two\n\nafter")
    #expect(text("<h2> Title</h2><p>line one<br>line two</p><hr><p>end</p>") == "## Title\n\nline one\nline two\n\n---\n\nend")
}

@Test func tablesAsRows() {
    #expect(text("<table><thead><tr><th>a</th><th>b</th></tr></thead><tbody><tr><td>1</td><td>x|y</td></tr></tbody></table>")
        == "| a | b |\n| --- | --- |\n| 1 | x\\|y |")
}

@Test func scriptsStylesAndCommentsAreDropped() {
    #expect(text("<p>kept<script>var x = 1;</script><style>p{}</style><!-- hidden --></p>") == "kept")
    #expect(text("") == "")
    #expect(text("plain text, no tags") == "plain text, no tags")
}
