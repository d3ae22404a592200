package fakeapi

// titleWords is a power of two long so a draw needs no division. It is drawn
// from with a skew towards the front (see pickWord), so a word count over many
// listings has a head and a long tail, as real titles do.
var titleWords = [128]string{
	"the", "a", "to", "of", "and", "in", "is", "for",
	"my", "this", "with", "on", "how", "what", "why", "new",
	"go", "rust", "code", "server", "data", "fast", "slow", "bug",
	"cat", "dog", "coffee", "rain", "city", "night", "morning", "weekend",
	"finally", "first", "best", "worst", "today", "again", "never", "always",
	"built", "found", "made", "lost", "learned", "tried", "broke", "fixed",
	"question", "help", "advice", "update", "release", "guide", "review", "story",
	"garden", "bread", "mountain", "river", "bike", "train", "book", "movie",
	"friend", "year", "home", "work", "project", "game", "photo", "song",
	"tiny", "huge", "old", "strange", "quiet", "bright", "broken", "perfect",
	"channel", "pipeline", "request", "latency", "cache", "queue", "thread", "memory",
	"compiler", "kernel", "network", "packet", "router", "socket", "buffer", "parser",
	"after", "before", "without", "about", "between", "under", "over", "through",
	"everyone", "nobody", "someone", "people", "team", "neighbor", "grandma", "stranger",
	"weird", "honest", "simple", "hard", "easy", "cheap", "free", "real",
	"finished", "started", "shipped", "rewrote", "deleted", "measured", "benchmarked", "refactored",
}

// authorParts are combined as adjective_animalNN, which reads like a real
// handle and never needs escaping.
var (
	authorAdjectives = [16]string{
		"quiet", "lucky", "sleepy", "brave", "grumpy", "shiny", "odd", "swift",
		"tiny", "salty", "cosmic", "humble", "fuzzy", "rusty", "jolly", "witty",
	}
	authorAnimals = [16]string{
		"otter", "badger", "falcon", "gopher", "crab", "moose", "lynx", "heron",
		"walrus", "newt", "panda", "ferret", "koala", "raven", "yak", "squid",
	}
)

// pickWord takes the smaller of two uniform draws: index i comes up with
// probability about (255-2i)/16384, so "the" is some 250 times likelier than
// the last word.
func pickWord(r *rng) string {
	return pickFrom(r, &titleWords)
}

// pickFrom draws from words as pickWord draws from titleWords.
func pickFrom(r *rng, words *[128]string) string {
	x := r.next()
	return words[min(x&127, (x>>7)&127)]
}

// worldWords stand in for titleWords with unicode=1: text in the scripts
// real APIs return (accented Latin, Cyrillic, Greek, CJK, emoji), so a
// workload's bodies carry multi-byte UTF-8 as much as ASCII. The same skew
// applies. None needs escaping in JSON.
var worldWords = [128]string{
	"le", "der", "и", "の", "el", "в", "и", "de",
	"café", "über", "niño", "façade", "straße", "déjà", "garçon", "señor",
	"привет", "данные", "сервер", "быстро", "код", "город", "ночь", "кофе",
	"γεια", "δεδομένα", "καφές", "πόλη", "νύχτα", "βιβλίο", "φίλος", "σπίτι",
	"データ", "サーバー", "コーヒー", "東京", "猫", "犬", "雨", "夜",
	"数据", "服务器", "咖啡", "城市", "朋友", "书", "电影", "工作",
	"☕", "🚀", "🐈", "🌧", "🔥", "✨", "📦", "🧵",
	"mañana", "élève", "öffnen", "größe", "crème", "brûlée", "naïve", "jalapeño",
	"проект", "память", "очередь", "сеть", "пакет", "буфер", "ядро", "поток",
	"σήμερα", "πάντα", "ποτέ", "πρώτος", "καλός", "μικρός", "μεγάλος", "παλιός",
	"今日", "明日", "最初", "最高", "小さい", "大きい", "古い", "新しい",
	"今天", "明天", "第一", "最好", "小", "大", "旧", "新",
	"go", "rust", "code", "data", "fast", "slow", "bug", "fixed",
	"Zürich", "Köln", "Kraków", "São", "Paulo", "Reykjavík", "Malmö", "Córdoba",
	"Москва", "Київ", "Αθήνα", "大阪", "北京", "서울", "한국어", "안녕",
	"👍", "🎉", "❤️", "😀", "🙈", "🌍", "⚡", "🍞",
}
