import Testing
@testable import LatheText

@Suite struct FiltersPIITests {
    let all = PIIRedactor()

    @Test func emails() {
        let r = all.redact("Write to jane.doe+news@mail.example.co.uk or (bob@uni-x.edu).")
        #expect(r.text == "Write to email@example.com or (email@example.com).")
        #expect(r.counts == ["email": 2])
    }

    @Test func emailNearMissesStay() {
        for text in ["icon@2x.png and logo@3x.webp", "@media screen", "user@localhost", "a@b.c", "decorator @property",
                     "see name@@example.com", "v1.0@build.42"] {
            #expect(all.redact(text).text == text, "\(text)")
        }
    }

    @Test func emailInCodeIsStillAnEmail() {
        let r = all.redact("git clone git@github.com:org/repo.git\nconst ADMIN = \"root@example.org\";")
        #expect(r.text == "git clone email@example.com:org/repo.git\nconst ADMIN = \"email@example.com\";")
    }

    @Test func publicIPv4AddressesOnly() {
        let r = all.redact("hit 8.8.8.8, 93.184.216.34:80 and 1.2.3.4; not 10.0.0.1, 192.168.1.20, 127.0.0.1, 172.16.5.4, 100.64.1.1, 203.0.113.9")
        #expect(r.text == "hit 192.0.2.1, 192.0.2.1:80 and 192.0.2.1; not 10.0.0.1, 192.168.1.20, 127.0.0.1, 172.16.5.4, 100.64.1.1, 203.0.113.9")
        #expect(r.counts == ["ip": 3])
    }

    @Test func dottedNumbersThatAreNotAddressesStay() {
        for text in ["version 1.2.3.4.5", "v1.2.3.4", "123.45.67.890", "256.1.1.1", "08.08.08.08", "1.2.3", "pi is 3.14159",
                     "build 4.3.2.1-beta"] {
            #expect(all.redact(text).text == text, "\(text)")
        }
    }

    @Test func publicIPv6AddressesOnly() {
        let r = all.redact("AAAA 2606:4700:4700::1111 and 2a00:1450:4001:82b::200e. Local fe80::1, ::1, fd00::5, 2001:db8::7.")
        #expect(r.text == "AAAA 2001:db8::1 and 2001:db8::1. Local fe80::1, ::1, fd00::5, 2001:db8::7.")
        #expect(r.counts == ["ip": 2])
    }

    @Test func colonNumbersThatAreNotAddressesStay() {
        for text in ["at 12:30:45 today", "MAC 00:1a:2b:3c:4d:5e", "std::vector<int>", "ratio 3:2", "a::b::c"] {
            #expect(all.redact(text).text == text, "\(text)")
        }
    }

    @Test func phoneNumbers() {
        let r = all.redact("Call +44 20 7946 0958, (555) 123-4567, 555.123.4567, 1-800-555-0199 or 030 1234 5678.")
        #expect(r.text == "Call +1-555-0100, +1-555-0100, +1-555-0100, +1-555-0100 or +1-555-0100.")
        #expect(r.counts == ["phone": 5])
    }

    @Test func datesAndOtherNumbersAreNotPhones() {
        for text in ["on 2024-01-15 at 10:30", "born 15.01.1990", "ISBN 978-3-16-148410-0", "population 12345678901",
                     "order #555-1234", "prices 1.234.567", "range 100-200-300", "id 555-123-45678", "call 5551234567x"] {
            #expect(all.redact(text).text == text, "\(text)")
        }
    }

    @Test func onlyTheAskedKinds() throws {
        let text = "mail a@example.com from 8.8.8.8 or +1 202 555 0143"
        #expect(PIIRedactor(kinds: [.ip]).redact(text).text == "mail a@example.com from 192.0.2.1 or +1 202 555 0143")
        #expect(PIIRedactor(kinds: [.email, .phone]).redact(text).counts == ["email": 1, "phone": 1])
        #expect(throws: FilterConfigError.self) { try PIIKind.parseList("email,ssn") }
        #expect(try PIIKind.parseList("email, ip") == [.email, .ip])
    }

    @Test func redactingTwiceChangesNothing() {
        let once = all.redact("x 8.8.8.8 y jane@corp.com z +49 30 12345678 w 2606:4700::1")
        let twice = all.redact(once.text)
        #expect(twice.text == once.text)
        #expect(twice.counts.isEmpty)
    }
}

@Suite struct FiltersDomainBlocklistTests {
    let list = DomainBlocklist(domains: ["# spam", "example.com", "*.Tracker.NET", ".ads.org.", "", "  co.uk  "])

    @Test func domainsAndTheirSubdomains() {
        #expect(list.isBlocked(url: "https://example.com/a"))
        #expect(list.isBlocked(url: "http://www.EXAMPLE.com:8080/x?y"))
        #expect(list.isBlocked(url: "https://a.b.tracker.net"))
        #expect(list.isBlocked(url: "ftp://user:pw@cdn.ads.org./file"))
        #expect(list.isBlocked(url: "bbc.co.uk/news"))
    }

    @Test func lookalikesAreNotBlocked() {
        #expect(!list.isBlocked(url: "https://notexample.com/"))
        #expect(!list.isBlocked(url: "https://example.com.evil.io/"))
        #expect(!list.isBlocked(url: "https://other.org/example.com"))
        #expect(!list.isBlocked(url: "https://[2001:db8::1]/"))
        #expect(!list.isBlocked(url: ""))
        #expect(list.count == 4)
    }
}
