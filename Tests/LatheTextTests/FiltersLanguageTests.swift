import Testing
@testable import LatheText

// Texts written for these tests, none taken from the identifier's own data.
@Suite struct FiltersLanguageTests {
    let lid = LanguageIdentifier.shared

    static let long: [(String, String)] = [
        ("en", "The city council approved the new budget on Tuesday, although several members argued that the plan does not provide enough money for public transport. The mayor said she would keep working with them."),
        ("de", "Der Stadtrat hat am Dienstag den neuen Haushalt beschlossen, obwohl mehrere Mitglieder kritisierten, dass der Plan nicht genug Geld für den öffentlichen Verkehr vorsieht. Die Bürgermeisterin will weiter mit ihnen arbeiten."),
        ("fr", "Le conseil municipal a adopté mardi le nouveau budget, même si plusieurs membres ont estimé que le projet ne prévoit pas assez d'argent pour les transports publics. La maire a dit qu'elle continuerait à travailler avec eux."),
        ("es", "El ayuntamiento aprobó el martes el nuevo presupuesto, aunque varios concejales criticaron que el plan no incluye suficiente dinero para el transporte público. La alcaldesa dijo que seguirá trabajando con ellos."),
        ("pt", "A câmara municipal aprovou na terça-feira o novo orçamento, embora vários vereadores tenham criticado que o plano não prevê dinheiro suficiente para os transportes públicos. A prefeita disse que vai continuar a trabalhar com eles."),
        ("it", "Il consiglio comunale ha approvato martedì il nuovo bilancio, anche se diversi consiglieri hanno criticato il fatto che il piano non prevede abbastanza soldi per il trasporto pubblico. La sindaca ha detto che continuerà a lavorare con loro."),
        ("nl", "De gemeenteraad heeft dinsdag de nieuwe begroting goedgekeurd, hoewel verschillende leden vonden dat het plan niet genoeg geld voor het openbaar vervoer bevat. De burgemeester zei dat ze met hen blijft samenwerken."),
        ("pl", "Rada miasta przyjęła we wtorek nowy budżet, chociaż kilku radnych krytykowało, że plan nie przewiduje wystarczających pieniędzy na transport publiczny. Burmistrz powiedziała, że będzie nadal z nimi współpracować."),
        ("tr", "Belediye meclisi salı günü yeni bütçeyi onayladı, ancak birkaç üye planın toplu taşıma için yeterli para ayırmadığını eleştirdi. Belediye başkanı onlarla çalışmaya devam edeceğini söyledi."),
        ("vi", "Hội đồng thành phố đã thông qua ngân sách mới vào thứ Ba, mặc dù một số thành viên cho rằng kế hoạch không dành đủ tiền cho giao thông công cộng. Bà thị trưởng nói rằng bà sẽ tiếp tục làm việc với họ."),
        ("id", "Dewan kota menyetujui anggaran baru pada hari Selasa, meskipun beberapa anggota mengkritik bahwa rencana tersebut tidak menyediakan cukup uang untuk transportasi umum. Wali kota mengatakan dia akan terus bekerja sama dengan mereka."),
        ("cs", "Městská rada ve čtvrtek schválila nový rozpočet, ačkoli několik členů kritizovalo, že plán neobsahuje dost peněz na veřejnou dopravu. Starostka řekla, že s nimi bude dál spolupracovat."),
        ("sv", "Kommunfullmäktige godkände på tisdagen den nya budgeten, även om flera ledamöter kritiserade att planen inte ger tillräckligt med pengar till kollektivtrafiken. Borgmästaren sa att hon ska fortsätta arbeta med dem."),
        ("ro", "Consiliul local a aprobat marți noul buget, deși mai mulți consilieri au criticat faptul că planul nu prevede destui bani pentru transportul public. Primarul a spus că va continua să lucreze cu ei."),
        ("hu", "A városi közgyűlés kedden elfogadta az új költségvetést, bár több képviselő bírálta, hogy a terv nem biztosít elég pénzt a tömegközlekedésre. A polgármester azt mondta, hogy továbbra is együtt dolgozik velük."),
        ("fi", "Kaupunginvaltuusto hyväksyi tiistaina uuden talousarvion, vaikka useat jäsenet arvostelivat, ettei suunnitelma anna tarpeeksi rahaa joukkoliikenteelle. Pormestari sanoi jatkavansa yhteistyötä heidän kanssaan."),
        ("da", "Byrådet vedtog tirsdag det nye budget, selv om flere medlemmer kritiserede, at planen ikke giver nok penge til den kollektive trafik. Borgmesteren sagde, at hun vil fortsætte samarbejdet med dem."),
        ("ru", "Городской совет во вторник утвердил новый бюджет, хотя несколько депутатов критиковали план за то, что в нём недостаточно денег на общественный транспорт. Мэр сказала, что продолжит работать с ними."),
        ("uk", "Міська рада у вівторок затвердила новий бюджет, хоча кілька депутатів критикували план за те, що в ньому недостатньо грошей на громадський транспорт. Мерка сказала, що продовжить працювати з ними."),
        ("bg", "Общинският съвет одобри във вторник новия бюджет, въпреки че няколко съветници критикуваха, че планът не предвижда достатъчно пари за обществения транспорт. Кметът каза, че ще продължи да работи с тях."),
        ("ar", "وافق مجلس المدينة يوم الثلاثاء على الميزانية الجديدة، على الرغم من أن عددا من الأعضاء انتقدوا أن الخطة لا توفر ما يكفي من المال للنقل العام. وقالت رئيسة البلدية إنها ستواصل العمل معهم."),
        ("fa", "شورای شهر روز سه‌شنبه بودجه جدید را تصویب کرد، هرچند چند عضو انتقاد کردند که این طرح پول کافی برای حمل و نقل عمومی در نظر نگرفته است. شهردار گفت که به همکاری با آنها ادامه می‌دهد."),
        ("el", "Το δημοτικό συμβούλιο ενέκρινε την Τρίτη τον νέο προϋπολογισμό, αν και αρκετά μέλη επέκριναν ότι το σχέδιο δεν προβλέπει αρκετά χρήματα για τις δημόσιες συγκοινωνίες."),
        ("he", "מועצת העיר אישרה ביום שלישי את התקציב החדש, אף שכמה חברים מתחו ביקורת על כך שהתוכנית אינה מקצה מספיק כסף לתחבורה ציבורית."),
        ("ja", "市議会は火曜日に新しい予算を承認しましたが、何人かの議員は公共交通のための資金が十分ではないと批判しました。"),
        ("zh", "市议会星期二批准了新的预算，尽管几名议员批评该计划没有为公共交通提供足够的资金。"),
        ("ko", "시의회는 화요일에 새 예산을 승인했지만, 일부 의원들은 대중교통을 위한 예산이 충분하지 않다고 비판했다."),
        ("th", "สภาเมืองอนุมัติงบประมาณใหม่เมื่อวันอังคาร แม้ว่าสมาชิกหลายคนจะวิจารณ์ว่าแผนนี้ไม่มีเงินเพียงพอสำหรับการขนส่งสาธารณะ"),
        ("hi", "नगर परिषद ने मंगलवार को नया बजट मंज़ूर किया, हालांकि कई सदस्यों ने आलोचना की कि योजना में सार्वजनिक परिवहन के लिए पर्याप्त पैसा नहीं है।"),
    ]

    static let short: [(String, String)] = [
        ("en", "Where is the nearest train station?"),
        ("de", "Wo ist der nächste Bahnhof?"),
        ("fr", "Où est la gare la plus proche ?"),
        ("es", "¿Dónde está la estación de tren más cercana?"),
        ("pt", "Onde fica a estação de comboio mais próxima?"),
        ("it", "Dov'è la stazione ferroviaria più vicina?"),
        ("nl", "Waar is het dichtstbijzijnde treinstation?"),
        ("pl", "Gdzie jest najbliższa stacja kolejowa?"),
        ("ru", "Где находится ближайший вокзал?"),
        ("uk", "Де знаходиться найближчий вокзал?"),
        ("tr", "En yakın tren istasyonu nerede?"),
        ("ja", "一番近い駅はどこですか？"),
    ]

    @Test(arguments: long)
    func identifiesParagraphs(_ lang: String, _ text: String) {
        let r = lid.identify(text)
        #expect(r.lang == lang, "\(text.prefix(40))")
        #expect(r.score >= 0.65, "\(lang) \(r.score)")
    }

    @Test(arguments: short)
    func identifiesShortSentences(_ lang: String, _ text: String) {
        #expect(lid.identify(text).lang == lang, "\(text)")
    }

    @Test func coversTheCommonWebLanguages() {
        let top = ["en", "ru", "de", "ja", "zh", "es", "fr", "it", "pt", "nl", "pl", "vi", "tr", "id", "fa", "cs", "ko",
                   "ar", "sv", "uk", "hu", "el", "ro", "da", "fi"]
        #expect(Set(top).isSubset(of: Set(lid.languages)))
    }

    @Test func textWithoutLettersIsUndetermined() {
        #expect(lid.identify("12345 !!! -- 3.14").lang == "und")
        #expect(lid.identify("").score == 0)
    }

    @Test func mixedScriptsLowerTheScore() {
        let pure = lid.identify("Городской совет утвердил новый бюджет на следующий год.")
        let mixed = lid.identify("Городской совет утвердил новый бюджет. The council approved the new budget for next year today.")
        #expect(pure.lang == "ru")
        #expect(mixed.score < pure.score)
    }

    @Test func languageFilterKeepsListedLanguagesAboveTheScore() {
        let f = LanguageFilter(languages: ["en", "de"], minScore: 0.65)
        #expect(f.check(Self.long[0].1) == nil)
        #expect(f.check(Self.long[1].1) == nil)
        #expect(f.check(Self.long[2].1) == "language")
        #expect(LanguageFilter(languages: ["en"], minScore: 1.01).check(Self.long[0].1) == "language")
    }
}
