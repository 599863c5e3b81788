"""Short posts and display names in Koo's languages, for seeded data and compose load.

Each language has everyday sentences with a hashtag in its own script; posts combine one
or two of them with an optional second hashtag, a mention and a URL, so text length,
scripts, hashtags and mentions look like what people write.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from services.kit.text import extract_hashtags

# Roughly by speakers on an Indian platform that started with Hindi.
LANGUAGE_WEIGHTS: dict[str, float] = {
    "hi": 0.35,
    "en": 0.15,
    "bn": 0.08,
    "mr": 0.07,
    "te": 0.07,
    "ta": 0.07,
    "kn": 0.06,
    "gu": 0.05,
    "ml": 0.04,
    "pa": 0.03,
    "or": 0.02,
    "as": 0.01,
}

SENTENCES: dict[str, list[str]] = {
    "hi": [
        "आज सुबह की चाय के साथ अख़बार पढ़ा, मौसम बहुत सुहाना है। #सुप्रभात",
        "दिल्ली में आज बहुत ट्रैफ़िक था, दफ़्तर पहुँचने में दो घंटे लग गए। #दिल्ली",
        "क्रिकेट मैच का आख़िरी ओवर देखकर दिल की धड़कन रुक गई! #क्रिकेट",
        "नई किताब पढ़नी शुरू की है, कहानी बहुत दिलचस्प है। #किताबें",
        "माँ के हाथ का खाना दुनिया में सबसे अच्छा होता है। #परिवार",
        "बारिश के मौसम में पकौड़े और चाय का मज़ा ही कुछ और है। #बारिश",
        "हमारे गाँव में आज मेला लगा है, सब लोग बहुत खुश हैं। #भारत",
        "रोज़ सुबह योग करने से दिन भर ताज़गी बनी रहती है। #योग",
        "बच्चों के साथ पार्क में खेलकर बचपन याद आ गया। #रविवार",
        "आज ऑफ़िस में नई परियोजना शुरू हुई, टीम बहुत उत्साहित है। #काम",
    ],
    "mr": [
        "आज पुण्यात खूप पाऊस पडला, रस्ते पाण्याने भरले. #पुणे",
        "गणपती बाप्पा मोरया! घरी आज आरती झाली. #गणेशोत्सव",
        "सकाळी लवकर उठून व्यायाम केला, खूप छान वाटतंय. #आरोग्य",
        "मुंबईची लोकल म्हणजे रोजचा एक नवा अनुभव. #मुंबई",
        "आईने आज पुरणपोळी केली, खूप मस्त झाली होती. #मराठी",
        "नवीन मराठी चित्रपट पाहिला, कथा अप्रतिम आहे. #चित्रपट",
        "सिंहगडावर ट्रेक करून आलो, निसर्ग खूप सुंदर होता. #ट्रेक",
    ],
    "bn": [
        "আজ কলকাতায় খুব গরম, সবাই ছায়ায় বসে আছে। #কলকাতা",
        "দুর্গাপূজার প্রস্তুতি শুরু হয়ে গেছে, মনটা আনন্দে ভরে আছে। #দুর্গাপূজা",
        "রবীন্দ্রনাথের গান শুনতে শুনতে সন্ধ্যাটা কেটে গেল। #রবীন্দ্রসংগীত",
        "মায়ের হাতের মাছের ঝোল খেয়ে মন ভরে গেল। #বাংলা",
        "আজ বইমেলায় গিয়ে অনেকগুলো নতুন বই কিনলাম। #বইমেলা",
        "বৃষ্টির দিনে খিচুড়ি আর ইলিশ মাছ ভাজা, আর কী চাই! #বৃষ্টি",
        "ফুটবল ম্যাচে আমাদের দল জিতেছে, দারুণ খেলা হয়েছে। #ফুটবল",
    ],
    "ta": [
        "இன்று சென்னையில் நல்ல மழை பெய்தது, வானிலை இனிமையாக உள்ளது. #சென்னை",
        "பொங்கல் வாழ்த்துகள்! அனைவருக்கும் இனிய நாள் ஆகட்டும். #பொங்கல்",
        "காலையில் ஒரு கப் பில்டர் காபி இல்லாமல் நாள் தொடங்காது. #காபி",
        "புதிய தமிழ் நாவல் படிக்கத் தொடங்கினேன், மிகவும் அருமையாக உள்ளது. #தமிழ்",
        "கிரிக்கெட் போட்டியில் நம் அணி வென்றது, மகிழ்ச்சி! #கிரிக்கெட்",
        "அம்மாவின் சமையல் எப்போதும் சிறந்தது. #குடும்பம்",
        "மெரினா கடற்கரையில் மாலை நேரம் நடந்தேன். #மெரினா",
    ],
    "te": [
        "ఈరోజు హైదరాబాద్‌లో వాతావరణం చాలా బాగుంది. #హైదరాబాద్",
        "సంక్రాంతి శుభాకాంక్షలు! అందరికీ మంచి జరగాలి. #సంక్రాంతి",
        "కొత్త తెలుగు సినిమా చూశాను, కథ చాలా బాగుంది. #సినిమా",
        "అమ్మ చేసిన పులిహోర రుచి ఎప్పటికీ మరచిపోలేను. #తెలుగు",
        "ఉదయం నడక ఆరోగ్యానికి ఎంతో మంచిది. #ఆరోగ్యం",
        "మా ఊరిలో ఈరోజు జాతర జరుగుతోంది. #పండుగ",
    ],
    "kn": [
        "ಇಂದು ಬೆಂಗಳೂರಿನಲ್ಲಿ ತುಂಬಾ ಟ್ರಾಫಿಕ್ ಇತ್ತು. #ಬೆಂಗಳೂರು",
        "ಮೈಸೂರು ದಸರಾ ನೋಡಲು ಎಲ್ಲರೂ ಬನ್ನಿ! #ದಸರಾ",
        "ಹೊಸ ಕನ್ನಡ ಪುಸ್ತಕ ಓದಲು ಶುರು ಮಾಡಿದೆ. #ಕನ್ನಡ",
        "ಬೆಳಗಿನ ಕಾಫಿ ಇಲ್ಲದೆ ದಿನ ಶುರುವಾಗುವುದಿಲ್ಲ. #ಕಾಫಿ",
        "ಕೊಡಗಿನ ಬೆಟ್ಟಗಳಲ್ಲಿ ಮಳೆ ನೋಡುವುದೇ ಒಂದು ಸುಖ. #ಕೊಡಗು",
    ],
    "gu": [
        "આજે અમદાવાદમાં ખૂબ ગરમી છે. #અમદાવાદ",
        "નવરાત્રિમાં ગરબા રમવાની મજા જ કંઈક અલગ છે! #નવરાત્રિ",
        "સવારે ગરમ ચા અને ફાફડા જલેબી, વાહ! #ગુજરાત",
        "નવું ગુજરાતી નાટક જોયું, ખૂબ સરસ હતું. #નાટક",
        "ઉત્તરાયણમાં પતંગ ઉડાવવાની મજા આવી. #ઉત્તરાયણ",
    ],
    "pa": [
        "ਅੱਜ ਅੰਮ੍ਰਿਤਸਰ ਵਿੱਚ ਮੌਸਮ ਬਹੁਤ ਸੋਹਣਾ ਹੈ। #ਅੰਮ੍ਰਿਤਸਰ",
        "ਵਿਸਾਖੀ ਦੀਆਂ ਲੱਖ ਲੱਖ ਵਧਾਈਆਂ! #ਵਿਸਾਖੀ",
        "ਮਾਂ ਦੇ ਹੱਥ ਦੀ ਮੱਕੀ ਦੀ ਰੋਟੀ ਤੇ ਸਰ੍ਹੋਂ ਦਾ ਸਾਗ। #ਪੰਜਾਬ",
        "ਖੇਤਾਂ ਵਿੱਚ ਕਣਕ ਪੱਕ ਗਈ ਹੈ। #ਕਿਸਾਨ",
    ],
    "ml": [
        "ഇന്ന് കൊച്ചിയിൽ നല്ല മഴയായിരുന്നു. #കൊച്ചി",
        "ഓണാശംസകൾ! എല്ലാവർക്കും നല്ലൊരു ദിവസം ആശംസിക്കുന്നു. #ഓണം",
        "പുതിയ മലയാളം സിനിമ കണ്ടു, വളരെ നന്നായിരുന്നു. #സിനിമ",
        "രാവിലെ ഒരു ചായയും പുട്ടും കടലയും. #മലയാളം",
    ],
    "or": [
        "ଆଜି ଭୁବନେଶ୍ୱରରେ ବହୁତ ଗରମ ପଡ଼ୁଛି। #ଭୁବନେଶ୍ୱର",
        "ରଥଯାତ୍ରାର ଶୁଭେଚ୍ଛା! ଜୟ ଜଗନ୍ନାଥ। #ରଥଯାତ୍ରା",
        "ମାଆଙ୍କ ହାତର ପଖାଳ ଭାତ ସବୁଠୁ ଭଲ। #ଓଡ଼ିଆ",
    ],
    "as": [
        "আজি গুৱাহাটীত বৰ ধুনীয়া বতৰ। #গুৱাহাটী",
        "বিহুৰ শুভেচ্ছা সকলোলৈ! #বিহু",
        "অসমৰ চাহৰ সোৱাদ সকলোতকৈ বেলেগ। #অসম",
    ],
    "en": [
        "Morning run done, feeling great! #fitness",
        "Traffic in Bengaluru is something else today. #bengaluru",
        "Just finished a wonderful book on Indian history. #books",
        "What a finish to the match last night! #cricket",
        "Trying out a new recipe for dinner tonight. #food",
        "The monsoon has finally arrived in Mumbai. #monsoon",
        "Startup demo day went well, thanks to the whole team. #startups",
    ],
}

EXTRA_TAGS: dict[str, list[str]] = {
    "hi": ["#भारत", "#हिंदी", "#ख़बर"],
    "mr": ["#महाराष्ट्र", "#मराठी"],
    "bn": ["#বাংলা", "#ভারত"],
    "ta": ["#தமிழ்நாடு", "#தமிழ்"],
    "te": ["#తెలుగు", "#ఆంధ్రప్రదేశ్"],
    "kn": ["#ಕರ್ನಾಟಕ", "#ಕನ್ನಡ"],
    "gu": ["#ગુજરાતી"],
    "pa": ["#ਪੰਜਾਬੀ"],
    "ml": ["#കേരളം"],
    "or": ["#ଓଡ଼ିଶା"],
    "as": ["#অসমীয়া"],
    "en": ["#india", "#koo", "#news"],
}

NAMES: dict[str, list[str]] = {
    "hi": ["आशा शर्मा", "राहुल वर्मा", "सुनीता यादव", "अमित कुमार", "पूजा सिंह"],
    "mr": ["स्नेहा पाटील", "राजेश देशमुख", "प्रिया कुलकर्णी"],
    "bn": ["অনিতা দাস", "সৌরভ বন্দ্যোপাধ্যায়", "মৌমিতা সেন"],
    "ta": ["கார்த்திக் ராஜா", "மீனா சுந்தரம்", "அருண் குமார்"],
    "te": ["శ్రీనివాస్ రెడ్డి", "లక్ష్మి ప్రసాద్", "రవి తేజ"],
    "kn": ["ಅನಿಲ್ ಕುಮಾರ್", "ಕಾವ್ಯ ಗೌಡ", "ಸುಧೀರ್ ಹೆಗ್ಡೆ"],
    "gu": ["હેતલ પટેલ", "જીગ્નેશ શાહ"],
    "pa": ["ਗੁਰਪ੍ਰੀਤ ਸਿੰਘ", "ਹਰਪ੍ਰੀਤ ਕੌਰ"],
    "ml": ["അനു മാത്യു", "രാഹുൽ നായർ"],
    "or": ["ସୁମନ ମହାନ୍ତି", "ପ୍ରିୟଙ୍କା ଦାସ"],
    "as": ["প্ৰিয়ংকা বৰা", "দীপক শৰ্মা"],
    "en": ["Priya Nair", "Arjun Mehta", "Neha Iyer", "Vikram Rao"],
}

URLS = [
    "https://koo.example/news/{n}",
    "https://example.in/story/{n}",
    "https://www.example.org/articles/{n}?ref=koo",
]


def pick_language(rng: random.Random) -> str:
    return rng.choices(list(LANGUAGE_WEIGHTS), weights=list(LANGUAGE_WEIGHTS.values()))[0]


def user_languages(rng: random.Random) -> list[str]:
    """One language, sometimes with English or a second one."""
    first = pick_language(rng)
    if first != "en" and rng.random() < 0.3:
        return [first, "en"]
    return [first]


def display_name(rng: random.Random, language: str) -> str:
    return rng.choice(NAMES[language])


def post_text(
    rng: random.Random,
    language: str,
    *,
    mention: str | None = None,
    url: bool = False,
) -> str:
    """One short post: one or two sentences, maybe another hashtag, a mention, a URL."""
    sentences = SENTENCES[language]
    parts = [rng.choice(sentences)]
    if rng.random() < 0.25:
        parts.append(rng.choice(sentences))
    if rng.random() < 0.4:
        parts.append(rng.choice(EXTRA_TAGS[language]))
    if mention:
        parts.insert(0, f"@{mention}")
    if url:
        parts.append(rng.choice(URLS).format(n=rng.randrange(1, 10_000_000)))
    return " ".join(dict.fromkeys(parts))


@dataclass(frozen=True, slots=True)
class Template:
    """A post text without a mention, with what the post service would extract from it."""

    text: str
    language: str
    hashtags: tuple[str, ...]


def template_pool(rng: random.Random, size: int) -> list[Template]:
    """`size` texts by language weight (the bulk loader picks from these)."""
    pool: list[Template] = []
    for _ in range(size):
        language = pick_language(rng)
        text = post_text(rng, language, url=rng.random() < 0.1)
        pool.append(Template(text, language, tuple(dict.fromkeys(extract_hashtags(text)))))
    return pool
