/*
 * wordlist.c: the 2048 words that session ids are made of.
 *
 * Each word carries 11 bits, so a four-word id carries 44. The list was
 * made once, by a throwaway script, from Debian's word lists (wamerican
 * and wamerican-small): candidates were lowercase words of 3 to 8 letters
 * a-z from the smaller, commoner list; inflected forms whose base word is
 * also a word (plurals, past tenses, -ing, -er, -ly) and irregular past
 * forms were dropped; so were offensive, grim, negative or awkward words,
 * names, abbreviations, function words and heteronyms; of each set of
 * homophones or near-homophones at most one was kept. The words were then
 * grouped by their first four letters, the commonest of each group kept,
 * and the 2048 commonest groups taken. The result was read through by
 * eye and the script rerun until nothing more had to be struck out.
 *
 * The rules, which tests/unit/test-id.c checks, are:
 *  - exactly ID_WORDLIST_LEN words, sorted (strcmp order), no duplicates;
 *  - only the letters a-z, ID_WORD_MIN to ID_WORD_MAX of them;
 *  - no word is a prefix of another, and no two words share their first
 *    four letters, so a listener can tell them apart, a typo rarely lands
 *    on another word, and four letters are enough to name a word;
 *  - no offensive words, and no pairs of homophones.
 *
 * Keep it sorted: id_check() finds words by binary search.
 */
#include "config.h"

#include <stddef.h>
#include <string.h>

#include "tunl.h"

static const char *const wordlist[ID_WORDLIST_LEN] = {
	"aardvark", "abide", "ability", "able", "abolish", "abrupt",
	"absent", "absolute", "abstract", "academic", "access", "account",
	"accuracy", "ace", "ache", "achieve", "acid", "acorn", "acquire",
	"acronym", "action", "actor", "actual", "acute", "adapt",
	"addendum", "addition", "address", "adequate", "adhere",
	"adjacent", "adjust", "admit", "adoption", "advance", "adverse",
	"advice", "affinity", "afford", "afield", "agent", "aging",
	"agnostic", "agree", "aid", "aim", "airy", "akin", "alarm",
	"alert", "algebra", "alias", "align", "alike", "alive", "alliance",
	"allow", "alone", "alphabet", "alto", "ambient", "amend", "amount",
	"analysis", "ancestor", "anchor", "ancient", "anew", "angel",
	"angle", "angular", "animal", "annex", "annotate", "annual",
	"anomaly", "answer", "antique", "anyway", "aperture", "apex",
	"apparent", "append", "apply", "approval", "apt", "arbiter",
	"arch", "area", "arena", "arguably", "arise", "ark", "armor",
	"army", "array", "arrive", "arrow", "artistic", "artwork",
	"ascent", "aspect", "aspire", "assert", "assign", "assume",
	"asterisk", "atlas", "atomic", "attach", "attempt", "attic",
	"attorney", "audit", "augment", "author", "auto", "avail",
	"avenue", "average", "avoid", "await", "aware", "awesome", "axiom",
	"azure", "back", "bacon", "badge", "baggage", "bail", "balance",
	"balloon", "band", "bank", "barrier", "base", "basic", "batch",
	"bath", "battery", "bay", "beacon", "bead", "beam", "bean", "bear",
	"beast", "beat", "beautify", "become", "beef", "begin", "behavior",
	"believe", "bell", "belong", "belt", "bench", "benefit", "benign",
	"berry", "beside", "best", "beware", "bias", "bill", "binary",
	"bind", "bird", "birth", "bisect", "bishop", "bison", "bite",
	"bitmap", "bizarre", "black", "blame", "blank", "blast", "blaze",
	"blend", "blind", "blob", "block", "blog", "bloom", "blow", "blue",
	"blurb", "board", "bobcat", "body", "bold", "bolt", "bond",
	"bonus", "bookworm", "boom", "boost", "boot", "border", "borrow",
	"boss", "botch", "bottom", "boundary", "box", "bracket", "brain",
	"branch", "bravo", "break", "breezy", "brevity", "brew", "bridge",
	"brief", "bright", "bring", "brittle", "broad", "brook", "browse",
	"brush", "brute", "bubble", "bucket", "buddy", "budget", "buff",
	"bug", "build", "bulge", "bulk", "bull", "bump", "bunch", "bundle",
	"bunk", "burden", "burn", "burst", "busy", "button", "buy", "buzz",
	"bypass", "byte", "cable", "caddy", "cadence", "cage", "cake",
	"calculus", "calendar", "call", "calm", "camera", "canary",
	"cancel", "candy", "cane", "canon", "canvas", "capacity", "cape",
	"capital", "capsule", "capture", "caramel", "carbon", "card",
	"care", "cargo", "carol", "carp", "carry", "cart", "carve",
	"cascade", "case", "cash", "cast", "casual", "catalog", "catch",
	"category", "cause", "caution", "caveat", "cedar", "ceiling",
	"cell", "central", "certain", "chain", "champion", "change",
	"chaos", "chap", "char", "chase", "chat", "cheap", "check", "chef",
	"chemical", "cherry", "chestnut", "chew", "chicken", "chief",
	"child", "chin", "chip", "choice", "choose", "chop", "chow",
	"chromium", "chuck", "chunk", "churn", "cipher", "circular",
	"citation", "citizen", "city", "claim", "clamp", "clang",
	"clarify", "class", "clause", "clear", "clever", "click", "client",
	"cliff", "clinic", "clip", "clock", "clog", "clone", "closure",
	"cloud", "club", "clue", "clumsy", "cluster", "clutter", "cobalt",
	"cocoa", "code", "coerce", "coexist", "coffee", "coherent", "coin",
	"cold", "collect", "color", "column", "combine", "come", "commit",
	"compute", "concept", "condense", "cone", "conflict", "conical",
	"conjure", "connect", "conquer", "console", "context", "convey",
	"cookie", "cool", "cope", "copy", "core", "cork", "corpus",
	"correct", "cortex", "cosmetic", "cost", "cotton", "count",
	"couple", "course", "coverage", "craft", "cram", "crate", "crawl",
	"create", "credit", "critical", "crop", "cross", "crucial",
	"crude", "crypt", "crystal", "cube", "cubic", "cuckoo", "cull",
	"cultural", "curb", "cure", "curious", "curl", "current", "cursor",
	"curt", "curve", "custom", "cute", "cycle", "dad", "daisy",
	"dance", "dangle", "dapper", "dark", "darling", "dart", "dash",
	"data", "date", "datum", "daylight", "daytime", "deadline", "deal",
	"dean", "debug", "decay", "decent", "decimal", "declare", "decode",
	"decrease", "deduce", "deed", "deem", "deep", "default", "defect",
	"define", "deflate", "defunct", "degree", "delay", "delete",
	"delivery", "demand", "denote", "density", "depend", "depot",
	"depth", "derive", "describe", "design", "desktop", "despite",
	"detail", "detect", "develop", "device", "dew", "diagnose",
	"dialog", "diamond", "diet", "differ", "digit", "diminish", "dip",
	"direct", "disallow", "discover", "dish", "disjoint", "disk",
	"display", "dissect", "distance", "ditto", "divert", "division",
	"dock", "document", "dodge", "dollar", "domain", "donation",
	"doodle", "door", "dormant", "dose", "dot", "double", "downhill",
	"dozen", "draft", "drag", "drain", "dramatic", "draw", "dream",
	"dress", "drift", "drink", "drive", "drop", "dry", "duck", "duke",
	"dummy", "duo", "duplex", "duration", "during", "dust", "duty",
	"dynamic", "eager", "eagle", "earl", "earth", "ease", "east",
	"easy", "eat", "ebb", "echo", "eclipse", "eddy", "edge", "edit",
	"effect", "effort", "egg", "eight", "eject", "elapse", "elastic",
	"electron", "elegant", "element", "elevate", "elf", "eligible",
	"elite", "elliptic", "elm", "email", "embed", "emblem", "emergent",
	"emission", "emit", "emphasis", "employ", "empty", "emulator",
	"enable", "enclose", "encode", "endless", "endorse", "energy",
	"enforce", "engage", "engine", "enhance", "enjoy", "enlarge",
	"enlist", "enormous", "enrich", "enroll", "ensemble", "ensure",
	"enter", "entire", "entry", "envelope", "envoy", "envy",
	"epilogue", "epoch", "equal", "erasure", "escape", "esoteric",
	"essence", "estimate", "etch", "eternal", "ether", "evaluate",
	"event", "everyone", "evidence", "evolve", "exact", "example",
	"exceed", "exchange", "exclude", "excuse", "execute", "exempt",
	"exercise", "exhaust", "exhibit", "exist", "exit", "exotic",
	"expand", "expect", "expire", "explicit", "export", "express",
	"extant", "external", "extra", "fabric", "facade", "face",
	"facility", "factor", "fad", "faint", "fair", "faith", "fake",
	"falcon", "fall", "false", "family", "famous", "fancy", "farm",
	"fashion", "fast", "fault", "favor", "fear", "feasible", "feature",
	"federal", "feed", "feel", "fence", "fern", "fetch", "fiddle",
	"fidelity", "field", "fifth", "figure", "file", "fill", "film",
	"filter", "final", "finch", "find", "fine", "finger", "finish",
	"fire", "firmware", "first", "fish", "fission", "fist", "fit",
	"five", "fixation", "fixture", "flag", "flaky", "flash", "flatten",
	"flavor", "flaw", "fleck", "flesh", "flex", "flight", "flip",
	"float", "flock", "floor", "floppy", "floss", "flow", "fluff",
	"fluid", "flush", "flux", "fly", "focal", "focus", "fodder",
	"fold", "folklore", "follow", "font", "food", "footnote", "forbid",
	"force", "foreign", "forget", "fork", "format", "fortify", "forum",
	"forward", "fossil", "foster", "foundry", "four", "fox",
	"fraction", "fragment", "frame", "free", "frequent", "fresh",
	"friend", "fringe", "frolic", "front", "frost", "fruit", "fudge",
	"fuel", "fulfill", "fully", "function", "funny", "further", "fuse",
	"fusion", "future", "fuzz", "gadget", "gain", "galaxy", "gale",
	"gallery", "game", "gap", "garden", "garret", "gasp", "gateway",
	"gather", "gauge", "gear", "gem", "generic", "gentle", "genuine",
	"geometry", "get", "ghost", "giant", "gift", "gigantic", "giraffe",
	"gist", "give", "glacier", "glade", "glance", "glen", "glib",
	"glide", "global", "glossary", "glow", "glue", "glut", "gnat",
	"goal", "gobble", "gold", "good", "goofy", "goose", "govern",
	"grab", "graceful", "gradient", "graft", "grain", "grammar",
	"grant", "graph", "gravity", "gray", "great", "green", "grid",
	"grind", "grip", "groovy", "group", "grow", "guard", "guess",
	"guide", "guile", "guy", "habit", "hack", "hairy", "half", "halo",
	"halt", "handle", "happen", "hard", "hare", "harmless", "harrow",
	"harvest", "hash", "hatch", "haven", "haystack", "hazel", "head",
	"health", "heap", "heath", "heavy", "heed", "height", "heirloom",
	"hello", "help", "hen", "here", "hide", "high", "hill", "hint",
	"hip", "history", "hive", "hoist", "hold", "hole", "holiday",
	"home", "honor", "hood", "hook", "hope", "horizon", "horn", "host",
	"hour", "house", "howl", "hub", "huge", "hull", "human", "hundred",
	"hungry", "hunk", "hunt", "hurdle", "husky", "hut", "hybrid",
	"hydrogen", "hyphen", "icon", "icy", "idea", "identity", "idiom",
	"ignore", "image", "imitate", "immune", "impact", "implicit",
	"import", "improve", "inactive", "inch", "incident", "include",
	"increase", "incur", "index", "indirect", "induce", "inert",
	"inexact", "infer", "infinite", "inflate", "inform", "ingest",
	"inherit", "inhibit", "initial", "inject", "innocent", "input",
	"inquire", "insert", "inside", "inspect", "instance", "insulate",
	"intact", "integer", "intrepid", "invalid", "invert", "invite",
	"invoke", "ion", "iris", "iron", "island", "isolate", "issue",
	"italic", "item", "iterate", "jack", "jaguar", "jam", "jar", "jaw",
	"jay", "jest", "jigsaw", "job", "join", "journal", "joystick",
	"judge", "judicial", "jumbo", "jump", "junction", "junior",
	"justify", "keen", "keep", "kernel", "keyboard", "keystone",
	"keyword", "kick", "kid", "kilo", "kind", "kingdom", "kiss",
	"kitchen", "kitty", "knoll", "knot", "know", "label", "lack",
	"laden", "lake", "lamb", "lamp", "lance", "land", "lane",
	"language", "lantern", "large", "last", "latch", "late",
	"latitude", "latter", "launch", "lawyer", "layout", "lazy", "leaf",
	"leak", "lean", "leap", "learn", "lease", "lecture", "left",
	"legacy", "legend", "legible", "lemon", "lend", "length", "lens",
	"leopard", "level", "levy", "lexical", "liable", "liberal",
	"library", "license", "lid", "life", "lift", "ligature", "light",
	"likewise", "limb", "limit", "line", "linger", "link", "lint",
	"lion", "lip", "list", "literal", "little", "llama", "load",
	"location", "lock", "logic", "logo", "long", "look", "loop",
	"loose", "lore", "loss", "lotus", "loud", "lounge", "love", "low",
	"lucid", "luck", "lug", "luminous", "lunar", "machine", "magenta",
	"magic", "magnet", "mail", "main", "major", "make", "mall",
	"manage", "mandate", "mangle", "manifest", "manual", "map",
	"margin", "mark", "mask", "massive", "match", "material", "math",
	"matrix", "mature", "maximum", "maybe", "mayor", "maze", "mean",
	"measure", "medium", "meet", "member", "memory", "mention", "menu",
	"mercury", "mere", "merge", "merit", "mesh", "message", "metal",
	"meteor", "method", "metric", "middle", "midnight", "migrate",
	"mild", "mile", "million", "mimic", "mind", "mine", "minimum",
	"minor", "mint", "minus", "mirror", "mismatch", "misnomer", "miss",
	"misty", "mitigate", "mix", "moat", "mobile", "mock", "modal",
	"mode", "modify", "module", "mold", "mole", "moment", "money",
	"monitor", "monkey", "monster", "month", "moon", "moot", "moral",
	"moss", "motion", "motley", "motor", "mount", "mouse", "movable",
	"move", "movie", "mud", "mule", "multiple", "mumble", "murmur",
	"muse", "mushroom", "musical", "mustang", "mutation", "mute",
	"mutual", "mystery", "nail", "naive", "name", "narrow", "native",
	"nature", "navigate", "near", "neat", "need", "negative",
	"neighbor", "neon", "nervous", "nest", "nettle", "network",
	"neutral", "newt", "next", "nibble", "nice", "nick", "night",
	"nil", "nine", "ninth", "noble", "node", "noise", "nominal",
	"nonstop", "noodle", "noon", "normal", "north", "notation", "note",
	"notice", "noun", "nova", "novel", "novice", "now", "nuclear",
	"null", "numeric", "oasis", "obey", "oblique", "obscure",
	"observe", "obsolete", "obtain", "obvious", "occasion", "occur",
	"octopus", "odd", "ode", "official", "offload", "offset", "old",
	"omen", "ongoing", "onion", "opal", "opaque", "open", "operator",
	"opinion", "opposite", "option", "opus", "oracle", "orange",
	"order", "ordinary", "organize", "original", "orphan", "ounce",
	"outbound", "outcome", "outdated", "outgoing", "outline", "output",
	"outright", "outside", "override", "owl", "pace", "pacify",
	"package", "padlock", "page", "paint", "pair", "palette", "palm",
	"panel", "panther", "parallel", "parent", "parity", "park",
	"parrot", "parse", "part", "pass", "past", "patch", "patent",
	"path", "patience", "patrol", "pattern", "pause", "pavilion",
	"payload", "peak", "peculiar", "pedantic", "peel", "peer", "peg",
	"pelt", "penguin", "people", "pep", "percent", "perform",
	"perhaps", "period", "person", "perturb", "phantom", "phase",
	"phony", "photo", "phrase", "physical", "pick", "picture", "piece",
	"pierce", "pike", "pile", "pine", "pioneer", "pipe", "pirate",
	"pitch", "pivot", "pizza", "place", "plan", "plasma", "platform",
	"play", "please", "pledge", "plenty", "plot", "pluck", "plug",
	"plural", "plus", "pocket", "pod", "point", "poke", "polarity",
	"pole", "policy", "polo", "polygon", "pond", "pool", "populate",
	"port", "pose", "position", "possible", "post", "potato", "pound",
	"power", "practice", "preamble", "precise", "predict", "preen",
	"prefix", "prelude", "premium", "prepare", "preserve", "pretty",
	"previous", "price", "primary", "print", "priority", "prism",
	"private", "problem", "process", "product", "profile", "program",
	"prohibit", "prologue", "promise", "prone", "proof", "property",
	"prose", "protocol", "provide", "proxy", "prune", "public", "puff",
	"pull", "pulse", "puma", "pummel", "pump", "punch", "punt",
	"puppet", "purchase", "pure", "purge", "purify", "purpose", "push",
	"putty", "puzzle", "pyramid", "quality", "quantity", "quartz",
	"quash", "quell", "query", "question", "quick", "quiet", "quilt",
	"quirk", "quorum", "quote", "race", "radar", "radius", "raid",
	"railroad", "rain", "raise", "ramp", "random", "range", "rank",
	"rapid", "rare", "rate", "ratio", "raven", "raw", "ray", "reach",
	"readable", "real", "reap", "reason", "rebind", "rebuild",
	"recall", "receive", "recipe", "reclaim", "recovery", "recreate",
	"rectify", "recur", "recycle", "redefine", "redirect", "redo",
	"redraw", "reduce", "reed", "refer", "refine", "reflect", "reform",
	"refresh", "regard", "region", "regular", "rejoin", "relative",
	"release", "reliable", "reload", "rely", "remain", "remember",
	"remind", "remnant", "remove", "rename", "renew", "reopen",
	"repair", "repeat", "rephrase", "replace", "report", "request",
	"reread", "rescue", "reset", "resident", "resource", "response",
	"restore", "result", "retain", "retire", "retrieve", "return",
	"reuse", "revamp", "revert", "revision", "revoke", "rewind",
	"rework", "rewrite", "rice", "riddle", "ride", "ridge", "right",
	"rigorous", "rim", "rind", "ring", "ripe", "rise", "risk", "river",
	"road", "roam", "robot", "robust", "rock", "rod", "roll", "romp",
	"room", "roster", "rotation", "rough", "round", "route", "royal",
	"rubric", "ruby", "rule", "runaway", "rush", "rust", "rye", "sack",
	"safari", "safe", "sage", "salt", "sample", "sandy", "sane",
	"sanity", "sapphire", "satisfy", "saturate", "save", "say",
	"scale", "scan", "scatter", "scenario", "scheme", "school",
	"science", "scissor", "scope", "score", "scratch", "screen",
	"script", "scroll", "scrub", "seal", "search", "seat", "second",
	"secret", "section", "security", "seed", "seek", "segment",
	"seize", "seldom", "select", "self", "semantic", "send", "sense",
	"sentence", "separate", "sequence", "serial", "sermon", "serpent",
	"service", "session", "settle", "severity", "shadow", "shake",
	"shallow", "shape", "share", "shave", "sheet", "shell", "shift",
	"shin", "ship", "short", "show", "shred", "shrink", "shuffle",
	"shutdown", "sibling", "side", "sierra", "sieve", "signal",
	"silence", "silicon", "silly", "silver", "similar", "simple",
	"simulate", "single", "sink", "sister", "site", "sixth", "size",
	"skeleton", "sketch", "skew", "skid", "skill", "skip", "sky",
	"slab", "slack", "slang", "slash", "sleep", "slice", "slide",
	"slight", "slim", "slink", "slip", "slope", "slot", "slow", "slug",
	"small", "smart", "smooth", "smudge", "snake", "snapshot",
	"snippet", "snooze", "snowball", "soak", "soap", "society",
	"socket", "sodium", "software", "solar", "solid", "solo",
	"solution", "solve", "somehow", "song", "soon", "sorry", "sort",
	"sound", "soup", "source", "south", "space", "span", "sparse",
	"spatial", "spawn", "speak", "specify", "speed", "spell", "spend",
	"sphere", "spider", "spike", "spill", "spin", "spirit", "spit",
	"splat", "splice", "sponsor", "spool", "sport", "spot", "spread",
	"sprint", "spy", "square", "squeeze", "squid", "stable", "stack",
	"staff", "stage", "stair", "stale", "stamp", "standard", "staple",
	"start", "status", "stay", "steam", "stem", "step", "stereo",
	"sticky", "stiff", "stir", "stock", "stomp", "stone", "stop",
	"storage", "strategy", "stream", "string", "strong", "stub",
	"studio", "stuff", "stump", "style", "subgroup", "submit",
	"subset", "subtle", "success", "suffix", "sugar", "suggest",
	"suitable", "summary", "sundry", "sunshine", "superior", "support",
	"sure", "surface", "surge", "surname", "surplus", "surround",
	"survive", "suspend", "swab", "swallow", "swap", "sweep", "swift",
	"swing", "switch", "syllable", "symbol", "symmetry", "symptom",
	"synopsis", "syntax", "system", "table", "tabulate", "tack",
	"tactic", "tag", "tailor", "take", "tale", "talk", "tandem",
	"tang", "tap", "target", "task", "teach", "team", "teapot",
	"teletype", "tell", "template", "tenant", "tend", "tense", "tenth",
	"term", "test", "text", "thank", "thaw", "theme", "theory",
	"thermal", "thick", "thing", "third", "thorough", "thousand",
	"thread", "thrift", "through", "thrust", "thumb", "thunder",
	"ticket", "tidy", "tier", "tiger", "tighten", "tile", "till",
	"time", "tiny", "title", "today", "together", "toggle", "token",
	"tolerate", "tomato", "tomcat", "tomorrow", "tone", "tool",
	"topic", "topology", "torque", "torrent", "total", "touch", "tour",
	"tout", "towel", "town", "toy", "trace", "trade", "traffic",
	"trail", "transfer", "trap", "traverse", "treat", "tree", "trend",
	"triangle", "trick", "trigger", "trim", "trinity", "trio",
	"triple", "trivial", "true", "trunk", "trust", "truth", "try",
	"tulip", "tune", "tunnel", "turkey", "turn", "turtle", "tutorial",
	"tuxedo", "tweak", "twelve", "twenty", "twin", "twist", "two",
	"type", "typical", "ultimate", "ultra", "unblock", "undergo",
	"undo", "unfold", "unicorn", "unify", "union", "unique", "unit",
	"universe", "unlike", "unlock", "unmask", "unpack", "untangle",
	"unusual", "unwind", "unwrap", "update", "upgrade", "upload",
	"upper", "upset", "upstream", "urban", "urgency", "usable",
	"usage", "useful", "user", "usual", "utility", "vacuum", "vague",
	"valid", "valor", "value", "valve", "vanguard", "vanilla",
	"variable", "vary", "vast", "vault", "vector", "velocity",
	"vendor", "venture", "venue", "verbose", "verdict", "verify",
	"version", "vertical", "viable", "victory", "video", "view",
	"virtual", "visible", "vista", "visual", "vital", "vivid", "voice",
	"void", "volatile", "voltage", "volume", "vote", "vowel", "wade",
	"wagon", "wake", "walk", "wall", "want", "ward", "warm", "warn",
	"warp", "warranty", "waste", "watch", "water", "watt", "wave",
	"weather", "web", "week", "weight", "welcome", "well", "west",
	"wheel", "whisper", "white", "wide", "width", "wild", "will",
	"winch", "window", "wing", "wink", "winter", "wipe", "wire",
	"wisdom", "wise", "wish", "wizard", "wolf", "wonder", "wood",
	"word", "work", "world", "worm", "worth", "wrap", "yank", "yarn",
	"year", "yellow", "yelp", "yield", "yoga", "young", "zealous",
	"zebra", "zero", "zigzag", "zip", "zombie", "zone", "zoom",
};

size_t
id_wordlist_len(void)
{
	return TUNL_NITEMS(wordlist);
}

/* The i-th word of the list, or NULL when i is out of range. */
const char *
id_word(u_int i)
{
	if (i >= TUNL_NITEMS(wordlist))
		return NULL;
	return wordlist[i];
}

/*
 * Find the len letters at p (not NUL-terminated; the caller has checked
 * they are all a-z) in the list by binary search. On success the word's
 * index goes to *idx (if given) and 0 is returned; TUNL_ERR_NOT_FOUND
 * otherwise.
 */
int
id_word_find(const char *p, size_t len, u_int *idx)
{
	size_t	 lo = 0, hi = TUNL_NITEMS(wordlist), mid;
	int	 c;

	if (p == NULL || len < ID_WORD_MIN || len > ID_WORD_MAX)
		return TUNL_ERR_NOT_FOUND;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		/*
		 * strncmp stops at the shorter of the two; a listed word
		 * that p's letters only begin sorts after p.
		 */
		if ((c = strncmp(p, wordlist[mid], len)) == 0 &&
		    wordlist[mid][len] != '\0')
			c = -1;
		if (c == 0) {
			if (idx != NULL)
				*idx = (u_int)mid;
			return 0;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return TUNL_ERR_NOT_FOUND;
}
