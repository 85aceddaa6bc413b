// The language identifier's data, written down here rather than downloaded: for each
// language that shares a script with others, its most frequent words (function words,
// which make up a large share of any running text) and a few sentences of ordinary prose
// that carry its characteristic letters and letter sequences, and which letters of its
// script it writes (ä, ß for German; і, ї, є, ґ but never ы, э, ё for Ukrainian). Character trigram profiles are
// counted from these at start-up. Languages alone in their script (Greek, Hebrew, Thai,
// Korean, ...) need no profile: the script decides.

struct LanguageProfileData {
    let code: String
    let script: Script
    /// The non-ASCII letters the language writes (its whole alphabet for Cyrillic); a letter
    /// of the same script outside this set is evidence against it. nil: no such constraint.
    let letters: String?
    /// Letters the language does not write, for scripts where `letters` would be too long.
    let foreign: String
    let stopWords: String
    let sample: String
}

enum LanguageData {
    static let profiles: [LanguageProfileData] = [
        // MARK: Latin script
        .init(code: "en", script: .latin,
              letters: "", foreign: "",
              stopWords: "the of and to in a is that for it as was with be by on not he i this are or his from at which but have an they you were her she there been one all we their has would when if so no will more can what who about out up them some could into only other then its also than time these two may first any new like our over such our my very just how most after where those because should now",
              sample: "The weather was nice this morning, so we walked through the park and talked about what we should do with the rest of the week. Most people think that it is important to have enough time for their families and friends, which is why they try to work less."),
        .init(code: "de", script: .latin,
              letters: "äöüß", foreign: "",
              stopWords: "der die und in den von zu das mit sich des auf für ist im dem nicht ein eine als auch es an werden aus er hat dass sie nach wird bei einer um am sind noch wie einem über einen so zum war haben nur oder aber vor zur bis mehr durch man sein wurde sei ich wir ihr kann können gibt schon wenn dieser diese wieder",
              sample: "Die Straße war nach dem Regen nass, und wir gingen trotzdem zu Fuß ins Büro. Ich weiß nicht, ob das Wetter morgen schöner wird, aber für das Wochenende haben wir schon einen Ausflug geplant. Größere Städte sind oft lauter als kleine Dörfer."),
        .init(code: "fr", script: .latin,
              letters: "àâæçéèêëîïôœùûüÿ", foreign: "",
              stopWords: "de la le et les des en un du une est que pour qui dans a par plus pas au sur ne se ce il sont avec ou son mais comme on aux elle ses été leur nous vous tout cette ces être fait peut sans sa même très aussi dont entre deux où je avoir était ont lui si",
              sample: "Nous sommes allés au marché ce matin pour acheter des légumes frais et du pain. C'est une très belle journée, mais il fait encore un peu froid à l'ombre. Les enfants préfèrent jouer dehors plutôt que de rester à la maison après l'école."),
        .init(code: "es", script: .latin,
              letters: "áéíóúñü", foreign: "",
              stopWords: "de la que el en y a los se del las un por con no una su para es al lo como más o pero sus le ha me si sin sobre este ya entre cuando todo esta ser son dos también fue había era muy años hasta desde está mi porque qué sólo han yo hay vez puede todos así nos ni parte tiene él uno donde bien",
              sample: "Ayer fuimos a la playa con mis hermanos y pasamos toda la tarde nadando en el mar. La niña pequeña encontró muchas conchas bonitas, y después comimos paella en un restaurante cerca del puerto. ¿Cuándo volveremos? Mañana, si no llueve."),
        .init(code: "pt", script: .latin,
              letters: "áâãàçéêíóôõú", foreign: "",
              stopWords: "de a o que e do da em um para é com não uma os no se na por mais as dos como mas foi ao ele das tem à seu sua ou ser quando muito há nos já está eu também só pelo pela até isso ela entre era depois sem mesmo aos ter seus quem nas me esse eles estão você tinha foram essa num nem suas meu às minha têm numa pelos elas havia seja qual será nós",
              sample: "Não sei se você já esteve em Lisboa, mas a cidade é muito bonita durante a primavera. As ruas estreitas e as casas antigas fazem parte da história, e à noite as pessoas se reúnem nas praças para conversar. Ontem comemos peixe assado e pão."),
        .init(code: "it", script: .latin,
              letters: "àèéìíîòóùú", foreign: "",
              stopWords: "di e il la che in a per un è del non una le si con sono i da al gli dei lo come anche più ma ha nel della delle alla questo o se mi ci ne sua suo loro essere molto tutto quando stato tra fa nella cosa io hanno perché già solo questa dopo fare dal sul poi può ancora sempre",
              sample: "Questa mattina siamo andati al mercato per comprare la frutta e qualche verdura fresca. Il tempo era bellissimo, però nel pomeriggio è cominciato a piovere e siamo tornati a casa. Perché non vieni a cena da noi domani sera con i tuoi figli?"),
        .init(code: "nl", script: .latin,
              letters: "éëïóöüèáàç", foreign: "",
              stopWords: "de en van het een in is dat op te zijn met voor niet die aan er als ook maar om dan door bij nog wat over ze hij naar uit of wordt werd al zich tot kan meer worden heeft deze was hebben je ik we wij geen zo moet veel onder tegen omdat hun",
              sample: "Gisteren zijn we met de fiets naar het strand gegaan, want het weer was eindelijk goed. Het water was nog vrij koud, maar de kinderen hebben toch gezwommen. Daarna hebben we patat gegeten en zijn we langzaam naar huis teruggereden."),
        .init(code: "pl", script: .latin,
              letters: "ąćęłńóśźż", foreign: "",
              stopWords: "i w nie na się z do to że jest o jak a co po tak za od ale przez jego już dla tylko może być są jej by czy ich mnie też jako jeszcze był była było pod tym tego które który która lub przy oraz gdy jednak bardzo również więc sobie go nas",
              sample: "Wczoraj poszliśmy z przyjaciółmi do kina, a potem zjedliśmy kolację w małej restauracji niedaleko rynku. Pogoda była piękna, więc wróciliśmy do domu pieszo. Jutro muszę wcześnie wstać, bo mam ważne spotkanie w pracy o ósmej."),
        .init(code: "tr", script: .latin,
              letters: "çğıöşüâîû", foreign: "",
              stopWords: "ve bir bu da de için ile olarak çok daha en gibi ne o ki ama sonra kadar her var olan ya mi değil ben sen biz onun bu şu ise veya göre diye olduğu oldu içinde üzerine ancak şey bile nasıl neden hem artık tüm",
              sample: "Dün akşam arkadaşlarımla birlikte sahilde yürüyüş yaptık ve güzel bir restoranda balık yedik. Hava çok sıcaktı, ama deniz kenarında rüzgâr vardı. Yarın sabah erken kalkıp işe gitmem gerekiyor, çünkü önemli bir toplantımız var."),
        .init(code: "vi", script: .latin,
              letters: nil, foreign: "",
              stopWords: "và của là có không được trong cho những một các người này đã với để khi đến ra như thì sẽ từ về cũng làm nhiều năm lại nhưng theo đó tôi chúng ta đi nào vào sau trên rất bị nếu mà vì còn hơn",
              sample: "Hôm qua chúng tôi đã đi chợ để mua rau và trái cây tươi. Thời tiết rất đẹp nên mọi người đều ra ngoài đường. Buổi tối cả gia đình cùng nhau ăn cơm và nói chuyện về những kế hoạch cho năm mới."),
        .init(code: "id", script: .latin,
              letters: "é", foreign: "",
              stopWords: "yang dan di ini itu dengan untuk tidak dari dalam akan pada juga ke karena ada saya mereka kami kita oleh sudah bisa atau seperti lebih telah bahwa tersebut hanya jika dapat masih harus banyak kepada saat sebagai sangat setelah namun tetapi adalah",
              sample: "Kemarin kami pergi ke pasar untuk membeli sayuran dan buah-buahan segar. Cuacanya sangat cerah, sehingga banyak orang berjalan-jalan di taman kota. Malam harinya kami makan bersama keluarga dan berbicara tentang rencana liburan."),
        .init(code: "cs", script: .latin,
              letters: "áčďéěíňóřšťúůýž", foreign: "",
              stopWords: "a se na je v že to s z do o jako ale by i k pro jsem jsou jeho není které který která tak už jak po podle jen nebo má byl byla bylo být také však při od jsme mezi když ještě může tím aby této tento této než",
              sample: "Včera jsme šli s přáteli do kina a potom jsme večeřeli v malé restauraci u náměstí. Počasí bylo krásné, takže jsme se vrátili domů pěšky. Zítra musím brzy vstávat, protože mám důležitou schůzku v práci už v osm hodin."),
        .init(code: "sv", script: .latin,
              letters: "åäöé", foreign: "",
              stopWords: "och i att det som en på är av för med till den inte har de om ett men var jag han så vi kan från vid eller sig man ska skulle hade nu sin där när efter också bara mycket än under dem alla hon finns kommer",
              sample: "I går gick vi till sjön och badade, eftersom vädret äntligen var varmt. Barnen lekte på stranden hela eftermiddagen, och på kvällen åt vi middag ute på altanen. Nästa vecka ska vi åka till mormor som bor på landet."),
        .init(code: "da", script: .latin,
              letters: "æøåé", foreign: "",
              stopWords: "og i at det er en til på de som med af for ikke der den har et jeg var om fra men kan vi han så skal hun sig være blev også efter eller når mig ud over vil være har have deres dem nu bliver mange meget",
              sample: "I går tog vi cyklerne ned til stranden, fordi vejret endelig var godt. Vandet var stadig ret koldt, men børnene badede alligevel. Bagefter spiste vi rødgrød med fløde og kørte langsomt hjem gennem skoven."),
        .init(code: "nb", script: .latin,
              letters: "æøåéèêóòô", foreign: "",
              stopWords: "og i det er som på en til å av for med at har ikke den de om et var jeg fra men kan vi han så skal hun seg være ble også etter eller når meg ut over vil deres dem nå blir mange mye ikkje hva hvor",
              sample: "I går dro vi på tur i fjellet, fordi været endelig var fint. Det var fortsatt snø på toppen, men barna syntes det var gøy å gå på ski. Etterpå spiste vi vafler og drakk kakao på hytta før vi kjørte hjem."),
        .init(code: "fi", script: .latin,
              letters: "äöåšž", foreign: "",
              stopWords: "ja on ei se että oli hän ovat mutta kun niin myös joka tai sen kuin ole mitä olla voi jos vain nyt sitten vielä jo minä me te he tämä siitä ollut hänen joiden jotka koska kaikki kanssa",
              sample: "Eilen kävimme järvellä uimassa, koska sää oli vihdoin lämmin. Lapset leikkivät rannalla koko iltapäivän, ja illalla söimme yhdessä ulkona terassilla. Ensi viikolla menemme mökille isovanhempien luokse maalle."),
        .init(code: "ro", script: .latin,
              letters: "ăâîșțşţ", foreign: "",
              stopWords: "și în de la a cu pe care nu o se un este din mai că pentru ce sunt au fost să sau dar ca al lui ei el ea le am fi acest această până prin după foarte doar când cum unde dacă iar",
              sample: "Ieri am mers la piață să cumpărăm legume și fructe proaspete. Vremea a fost foarte frumoasă, așa că mulți oameni se plimbau prin parc. Seara am mâncat împreună cu familia și am vorbit despre planurile pentru vacanța de vară."),
        .init(code: "hu", script: .latin,
              letters: "áéíóöőúüű", foreign: "",
              stopWords: "a az és hogy nem is egy van meg de ez már csak mint még ki el be volt lesz vagy azt ezt kell fel után most minden pedig nagyon által között amely amit ahol mert sem sok olyan lehet",
              sample: "Tegnap a barátaimmal elmentünk a moziba, utána pedig egy kis étteremben vacsoráztunk a főtér közelében. Az idő gyönyörű volt, ezért gyalog mentünk haza. Holnap korán kell kelnem, mert fontos megbeszélésem lesz a munkahelyemen."),
        // MARK: Cyrillic script
        .init(code: "ru", script: .cyrillic,
              letters: "абвгдеёжзийклмнопрстуфхцчшщъыьэюя", foreign: "",
              stopWords: "и в не на что с по он я как это а то все она так его но к у же из за вы бы от о мы только было ее мне еще нет когда уже для вот был если или ни быть ему они до чем где есть тоже этот может при более также очень где здесь чтобы который которые этого того себя сейчас потом всё нужно находится",
              sample: "Вчера мы с друзьями ходили в кино, а потом ужинали в небольшом ресторане недалеко от площади. Погода была прекрасная, поэтому мы вернулись домой пешком. Завтра мне нужно рано вставать, потому что у меня важная встреча на работе. Новый городской парк открыли в субботу, и туда пришло много людей с детьми. Этот год был очень трудным для всей страны, но мы надеемся на лучшее будущее. Где ты был вчера вечером? Больница находится недалеко, и туда можно дойти за десять минут."),
        .init(code: "uk", script: .cyrillic,
              letters: "абвгґдеєжзиіїйклмнопрстуфхцчшщьюя", foreign: "",
              stopWords: "і в на що з не та до у як це за він від а але по я для її його вони ми ви ще вже був була було є також або коли якщо які який яка тому дуже тільки можна між після через їх де тут щоб знаходиться потрібно зараз свій своє",
              sample: "Учора ми з друзями ходили в кіно, а потім вечеряли в невеликому ресторані неподалік від площі. Погода була чудова, тому ми повернулися додому пішки. Завтра мені треба рано вставати, бо в мене важлива зустріч на роботі."),
        .init(code: "bg", script: .cyrillic,
              letters: "абвгдежзийклмнопрстуфхцчшщъьюя", foreign: "",
              stopWords: "и на в да се за е с от не че по са като ще това който която които но към при или след той тя те ние вие бъде беше има няма много още само както тази този във със",
              sample: "Вчера с приятели ходихме на кино, а след това вечеряхме в малък ресторант близо до площада. Времето беше прекрасно, затова се прибрахме вкъщи пеша. Утре трябва да стана рано, защото имам важна среща в работата. Новият градски парк беше открит в събота и там дойдоха много хора с децата си. Тази година беше много трудна за цялата страна."),
        // MARK: Arabic script
        .init(code: "ar", script: .arabic,
              letters: nil, foreign: "پچژگیکےںٹڈڑہھ",
              stopWords: "في من على إلى أن عن مع هذا هذه التي الذي كان لا ما هو هي كل بعد قد بين أو ذلك عند لم إن حتى كما وقد ثم الى أي غير منذ",
              sample: "ذهبنا أمس إلى السوق لشراء الخضروات والفواكه الطازجة. كان الطقس جميلا جدا، لذلك خرج الكثير من الناس إلى الحديقة. وفي المساء تناولنا العشاء مع العائلة وتحدثنا عن خطط العطلة الصيفية."),
        .init(code: "fa", script: .arabic,
              letters: nil, foreign: "ةيكےںٹڈڑۃ",
              stopWords: "و در به از که این را با است برای آن یک خود تا می کرد شد هم بر نیز اما یا شده بود کند های ها ما من او آنها چه باید دارد هر دیگر",
              sample: "دیروز با دوستانم به سینما رفتیم و بعد در یک رستوران کوچک نزدیک میدان شام خوردیم. هوا خیلی خوب بود، برای همین پیاده به خانه برگشتیم. فردا باید زود بیدار شوم چون یک جلسه مهم در کار دارم."),
        .init(code: "ur", script: .arabic,
              letters: nil, foreign: "ةيكژ",
              stopWords: "کے میں کی ہے اور سے کو کا نے یہ ہیں پر تھا وہ بھی کہ ایک ہو گیا تھی کر جو تک ہی اس ان کیا نہیں گے",
              sample: "کل ہم دوستوں کے ساتھ سینما گئے اور پھر چوک کے قریب ایک چھوٹے ریستوران میں کھانا کھایا۔ موسم بہت اچھا تھا، اس لیے ہم پیدل گھر واپس آئے۔ کل مجھے جلدی اٹھنا ہے کیونکہ دفتر میں ایک اہم میٹنگ ہے۔"),
    ]
}
