package anonymize

// The themed lists the mappings pick from. Their sizes are part of the
// mapping (an index is a hash modulo the size): changing a list changes
// every mapped value from the next day on, not the days already stored.

// Terminal is a text terminal's screen in columns and rows; anonymized
// sites store one of these instead of the screen size.
type Terminal struct {
	Columns, Rows int
	Name          string
}

// Terminals are the screens an anonymized screen size maps to, in order.
var Terminals = [16]Terminal{
	{40, 24, "Commodore 64"}, {80, 24, "VT100"}, {80, 25, "IBM PC"}, {80, 43, "EGA"},
	{80, 50, "VGA"}, {132, 24, "VT100 wide"}, {132, 43, "VT220 wide"}, {128, 48, "Wyse 60"},
	{160, 50, "Sun console"}, {80, 34, "Atari ST"}, {64, 32, "ZX Spectrum"}, {40, 25, "Apple II"},
	{80, 48, "Amiga"}, {80, 60, "SVGA"}, {120, 50, "DEC VT320"}, {80, 30, "xterm"},
}

// TerminalName names the terminal of a columns × rows screen, "" for a
// size that is not one of Terminals.
func TerminalName(columns, rows int) string {
	for _, t := range Terminals {
		if t.Columns == columns && t.Rows == rows {
			return t.Name
		}
	}
	return ""
}

// fishermen stand in for session ids.
var fishermen = [50]string{
	"Ola Nordmann", "Kari Nordmann", "Arne Hansen", "Bjorn Olsen", "Eirik Larsen", "Knut Berg",
	"Odd Johansen", "Per Nilsen", "Sverre Dahl", "Trygve Lie", "Halvor Moen", "Ragnar Strand",
	"Leif Eriksen", "Magnus Vik", "Sigurd Aas", "Terje Haugen", "Geir Lund", "Rune Bakken",
	"Tor Solberg", "Kjell Pedersen", "Harald Holm", "Ivar Sandvik", "Jon Fjeld", "Nils Brekke",
	"Ove Myhre", "Stein Lien", "Ulf Tangen", "Vidar Rønning", "Asbjorn Hagen", "Gunnar Næss",
	"Ingrid Bø", "Solveig Lunde", "Astrid Rustad", "Marit Foss", "Liv Ødegaard", "Randi Sæther",
	"Hilde Kvam", "Turid Vold", "Berit Hovland", "Gerd Strøm", "Jostein Hamre", "Aslak Sara",
	"Mathis Hætta", "Peder Svalbard", "Elling Lofoten", "Anders Vesteraalen", "Ottar Finnmark",
	"Hallvard Røst", "Torstein Værøy", "Einar Hammerfest",
}

// exoplanets stand in for countries.
var exoplanets = [32]string{
	"Kepler-22b", "Kepler-186f", "Kepler-452b", "Proxima Centauri b", "TRAPPIST-1e", "TRAPPIST-1f",
	"TRAPPIST-1g", "HD 209458 b", "51 Pegasi b", "Gliese 581 g", "Gliese 667 Cc", "K2-18b",
	"LHS 1140 b", "WASP-12b", "WASP-121b", "HD 189733 b", "Kepler-16b", "Kepler-62f",
	"Kepler-442b", "Kepler-1649c", "TOI-700 d", "Ross 128 b", "Teegarden's Star b", "GJ 1214 b",
	"55 Cancri e", "Tau Ceti e", "Wolf 1061 c", "Kapteyn b", "CoRoT-7b", "KELT-9b",
	"HR 8799 b", "Fomalhaut b",
}

// birds stand in for operating systems.
var birds = [24]string{
	"Toucan", "Scarlet Macaw", "Hyacinth Macaw", "Quetzal", "Hoatzin", "Cockatoo",
	"Lorikeet", "Hornbill", "Bird-of-paradise", "Sunbird", "Hummingbird", "Motmot",
	"Jacamar", "Trogon", "Tanager", "Manakin", "Cotinga", "Bellbird",
	"Oropendola", "Aracari", "Kingfisher", "Frigatebird", "Flamingo", "Ibis",
}

// mammals and bodyParts make a browser name, e.g. "Badgerhead".
var mammals = [24]string{
	"Badger", "Otter", "Walrus", "Lemur", "Wombat", "Ferret", "Marmot", "Beaver",
	"Yak", "Tapir", "Okapi", "Panda", "Sloth", "Bison", "Moose", "Lynx",
	"Weasel", "Hedgehog", "Armadillo", "Narwhal", "Mongoose", "Meerkat", "Gibbon", "Llama",
}

var bodyParts = [16]string{
	"head", "paw", "tail", "ear", "nose", "foot", "claw", "tooth",
	"whisker", "snout", "horn", "hoof", "knee", "elbow", "belly", "eye",
}

// surveillance names the fake referrer pages.
var surveillance = [40]string{
	"prism", "xkeyscore", "tempora", "muscular", "bullrun", "stellarwind", "boundless-informant", "mystic",
	"dishfire", "turbulence", "trailblazer", "fairview", "blarney", "oakstar", "stormbrew", "rampart",
	"quantum", "foxacid", "olympia", "co-traveler", "nucleon", "pinwale", "marina", "mainway",
	"trafficthief", "genie", "turmoil", "tutelage", "hammerchant", "lustre", "optic-nerve", "karma-police",
	"mutant-broth", "squeaky-dolphin", "candygram", "cottonmouth", "dropoutjeep", "happyfoot", "monkeycalendar", "nightstand",
}

// operations stand in for path segments and UTM values.
var operations = [40]string{
	"overlord", "neptune", "market-garden", "torch", "husky", "dragoon", "mincemeat", "fortitude",
	"bodyguard", "cobra", "anvil", "avalanche", "shingle", "jubilee", "chastise", "crossbow",
	"dynamo", "pied-piper", "sea-lion", "eclipse", "downfall", "olympic", "coronet", "magic-carpet",
	"paperclip", "desert-storm", "just-cause", "urgent-fury", "nimrod", "tabarin", "highjump", "deep-freeze",
	"ivy-bells", "jennifer", "argus", "moonshine", "gladio", "gold", "stopwatch", "silver",
}
