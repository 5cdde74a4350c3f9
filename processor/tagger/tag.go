package tagger

import (
	"cmp"
	"math"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/wiretag/wiretag/processor/dict"
	"github.com/wiretag/wiretag/processor/langid"
	"github.com/wiretag/wiretag/processor/match"
	"github.com/wiretag/wiretag/processor/text"
	"github.com/wiretag/wiretag/schema"
)

// field is one tokenized text field of a story.
type field struct {
	name string
	doc  text.Doc
}

// found is one accepted match.
type found struct {
	field  int
	hit    match.Hit
	pat    int32
	quoted bool
}

// scratch is the per-call working memory, pooled so that tagging a story
// allocates little beyond its output.
type scratch struct {
	fields     [2]field
	hits       []match.Hit
	actors     []found
	topics     []found
	speech     []found
	present    []bool     // entity found (actors)
	fullSeen   []bool     // entity named by an alias without after_full
	fullName   []bool     // person named by a multi-word alias
	otherNamed []bool     // a different person with this person's surname is named
	otherSent  [2][]int32 // per field: sentences that name another conflict
	score      []float64
	slot       []int // per entity, while building topics
	gateCue    bool  // a cue with opens_gate was accepted
}

func newScratch(n int) any {
	return &scratch{present: make([]bool, n), fullSeen: make([]bool, n), fullName: make([]bool, n), otherNamed: make([]bool, n),
		score: make([]float64, n), slot: make([]int, n)}
}

func (s *scratch) reset() {
	s.actors, s.topics, s.speech = s.actors[:0], s.topics[:0], s.speech[:0]
	clear(s.present)
	clear(s.fullSeen)
	clear(s.fullName)
	clear(s.otherNamed)
	clear(s.score)
	s.gateCue = false
}

// Tag returns the enriched record for s.
func (t *Tagger) Tag(st *schema.Story) *schema.Enriched {
	sc := t.pool.Get().(*scratch)
	defer t.pool.Put(sc)
	t.analyze(sc, st.Headline, st.Body)

	rec := schema.NewEnriched(st)
	rec.Language = schema.Language{Detected: langid.Detect(st.Language, st.Headline, st.Body), Declared: langid.Declared(st.Language)}
	rec.Tagger = t.info
	rec.Actors = t.actorsOut(sc)
	rec.Topics = t.topicsOut(sc)
	t.fillNinjs(rec)
	return rec
}

// analyze is normalize + match + resolve: everything but building the record.
func (t *Tagger) analyze(sc *scratch, headline, body string) {
	sc.reset()
	sc.fields[0].name, sc.fields[1].name = "headline", "body"
	sc.fields[0].doc.Tokenize(headline)
	sc.fields[1].doc.Tokenize(body)
	for fi := range sc.fields {
		t.scan(sc, fi)
	}
	t.dropNamesakes(sc)
	t.markQuoted(sc)
	for _, f := range sc.topics {
		p := &t.pats[f.pat]
		sc.score[p.entity] += p.alias.Weight
	}
	t.supportTopics(sc)
}

// supportTopics adds their per_other_topic weight to the topics that have
// one, for each other topic tagged on its own evidence, when they have a cue
// of their own in the story.
func (t *Tagger) supportTopics(sc *scratch) {
	for _, si := range t.supported {
		if sc.score[si] == 0 {
			continue
		}
		n := 0
		for _, ei := range t.topicIDs {
			e := &t.entities[ei]
			if e.perOther == 0 && sc.score[ei] >= e.threshold && t.gateOpen(sc, e) {
				n++
			}
		}
		sc.score[si] += t.entities[si].perOther * float64(n)
	}
}

// scan runs the matcher over one field once for all spaces. It first
// gathers every token's candidates, noting the sentences that name another
// conflict (a topic cue does not count there, wherever in the sentence that
// name stands). Then, within each space, selection is leftmost-longest: at
// each token the longest candidate whose context rules hold wins and that
// space resumes after it; when none holds it moves one token on. In the
// topic space, cues of other topics with the same span count too
// ("adhésion" near both the EU and NATO is evidence for both), each topic
// once.
func (t *Tagger) scan(sc *scratch, fi int) {
	d := &sc.fields[fi].doc
	hits, others := sc.hits[:0], sc.otherSent[fi][:0]
	for i := range d.Tokens {
		n := len(hits)
		hits = t.m.At(d, i, hits)
		if len(hits)-n > 1 {
			slices.SortFunc(hits[n:], byPreference)
		}
		if t.others {
			for _, h := range hits[n:] {
				if t.pats[h.ID].space == spaceOther {
					others = append(others, d.Tokens[i].Sent)
				}
			}
		}
	}
	sc.hits, sc.otherSent[fi] = hits, others

	var next [nSpaces]int
	for k := 0; k < len(hits); {
		i := hits[k].Start
		at := k // hits[at:k] start at token i
		for k < len(hits) && hits[k].Start == i {
			k++
		}
		for space := range nSpaces {
			if i < next[space] {
				continue
			}
			if space == spaceTopic && len(others) > 0 && slices.Contains(others, d.Tokens[i].Sent) {
				continue
			}
			accepted := -1 // End of the accepted topic cue; other topics' cues of that length count too
			for _, h := range hits[at:k] {
				p := &t.pats[h.ID]
				if p.space != space || (accepted >= 0 && (h.End != accepted || t.topicTaken(sc, p.entity, fi, h.Start))) {
					continue
				}
				if p.hasRules && !t.holds(sc, d, p, h) {
					continue
				}
				f := found{field: fi, hit: h, pat: h.ID}
				switch space {
				case spaceActor, spaceCountry:
					sc.actors = append(sc.actors, f)
				case spaceSpeech:
					sc.speech = append(sc.speech, f)
				case spaceTopic:
					sc.topics = append(sc.topics, f)
				}
				if !p.alias.AfterFull {
					sc.fullSeen[p.entity] = true
				}
				if p.words > 1 {
					sc.fullName[p.entity] = true
				}
				sc.present[p.entity] = true
				sc.gateCue = sc.gateCue || p.alias.OpensGate
				next[space] = h.End
				if space != spaceTopic {
					break
				}
				accepted = h.End
			}
		}
	}
}

// dropNamesakes removes bare surnames accepted before the story showed that
// someone else of that surname is in it ("Driscoll" in a headline, "Liam
// Driscoll" in the body): the decision holds for the whole story, whatever
// the order of the mentions.
func (t *Tagger) dropNamesakes(sc *scratch) {
	kept := sc.actors[:0]
	for _, f := range sc.actors {
		p := &t.pats[f.pat]
		if p.surname && sc.otherNamed[p.entity] && !sc.fullName[p.entity] {
			continue
		}
		kept = append(kept, f)
	}
	sc.actors = kept
}

// topicTaken reports whether a cue of topic entity was already accepted at
// this position: one word counts once per topic.
func (t *Tagger) topicTaken(sc *scratch, entity, field, start int) bool {
	for i := len(sc.topics) - 1; i >= 0; i-- {
		f := &sc.topics[i]
		if f.field != field || f.hit.Start != start {
			return false
		}
		if t.pats[f.pat].entity == entity {
			return true
		}
	}
	return false
}

// byPreference orders candidates at one position: longest first, then the
// reading without a clitic, then dictionary order.
func byPreference(a, b match.Hit) int {
	if a.End != b.End {
		return b.End - a.End
	}
	if a.Clitic != b.Clitic {
		return a.Clitic - b.Clitic
	}
	return int(a.ID - b.ID)
}

// holds checks an alias's context rules at a hit.
func (t *Tagger) holds(sc *scratch, d *text.Doc, p *pattern, h match.Hit) bool {
	if p.alias.AfterFull && !sc.fullSeen[p.entity] {
		return false
	}
	if p.alias.NotDateline && isDateline(d, h) {
		return false
	}
	if p.surname {
		if quotedAlone(d, h) {
			return false // «Ермак» the hockey club, "Trump" the film: a title
		}
		if afterOtherGivenName(d, h, &t.given, &t.entities[p.entity].firstNames) {
			// Someone else of that surname is in the story: the bare
			// surname means them, unless the taxonomy person is named in
			// full too.
			sc.otherNamed[p.entity] = true
			return false
		}
		if sc.otherNamed[p.entity] && !sc.fullName[p.entity] {
			return false
		}
	}
	switch p.alias.Case {
	case "upper":
		tok := d.Tokens[h.Start]
		if tok.Script != text.ScriptArabic && h.Clitic == 0 && !tok.Upper {
			return false
		}
	case "exact":
		if d.Original(h.Start, h.End-1) != p.alias.Text {
			return false
		}
	}
	if !p.prev.empty() || !p.notPrev.empty() {
		prev, prevHash, ok := previousWord(d, h)
		if !p.prev.empty() && (!ok || !p.prev.has(prev, prevHash)) {
			return false
		}
		if !p.notPrev.empty() && ok && (p.notPrev.has(prev, prevHash) || p.space == spaceCountry && inVenueList(d, h, p.notPrev)) &&
			!(p.alias.Speaks && t.statementFollows(d, h)) {
			return false
		}
	}
	if !p.next.empty() && (h.End >= len(d.Tokens) || !p.next.has(d.Word(h.End), d.Tokens[h.End].Hash)) {
		return false
	}
	if !p.notNext.empty() && h.End < len(d.Tokens) && p.notNext.has(d.Word(h.End), d.Tokens[h.End].Hash) {
		return false
	}
	if !p.notSuffix.empty() && h.End < len(d.Tokens) && apostropheBetween(d, h.End-1) && p.notSuffix.has(d.Word(h.End), d.Tokens[h.End].Hash) {
		return false
	}
	if !p.near.empty() && !nearAny(d, h, p.window, p.near) {
		return false
	}
	if !p.notNear.empty() && nearAny(d, h, p.window, p.notNear) {
		return false
	}
	return true
}

// quotedAlone reports whether the hit is all that stands between a pair of
// quotation marks: a bare surname in quotes names a club, a ship or a film
// («Ермак», „Kushner“), not the person.
func quotedAlone(d *text.Doc, h match.Hit) bool {
	if h.Clitic > 0 {
		return false
	}
	before := d.Src[:d.Tokens[h.Start].BStart]
	after := d.Src[d.Tokens[h.End-1].BEnd:]
	open, _ := utf8.DecodeLastRuneInString(before)
	shut, _ := utf8.DecodeRuneInString(after)
	switch open {
	case '«':
		return shut == '»'
	case '„':
		return shut == '“' || shut == '”'
	case '“':
		return shut == '”'
	case '"':
		return shut == '"'
	case '‹':
		return shut == '›'
	}
	return false
}

// afterOtherGivenName reports whether a one-word person alias directly
// follows, in the same sentence and separated only by spaces, a capitalized
// given name from the list of other people's that is not the person's own
// first name (own, in any case form: "Андрея Ермака"): "Andrés Rubio" is not
// Marco Rubio. Arabic has no capitals; its given names count wherever they
// stand.
func afterOtherGivenName(d *text.Doc, h match.Hit, given, own *wordSet) bool {
	if h.Clitic > 0 || h.Start == 0 {
		return false
	}
	prev, cur := &d.Tokens[h.Start-1], &d.Tokens[h.Start]
	if prev.Sent != cur.Sent || !(prev.Upper || prev.Script == text.ScriptArabic) {
		return false
	}
	for _, c := range d.Src[prev.BEnd:cur.BStart] {
		if c != ' ' && c != '\u00a0' {
			return false
		}
	}
	w := d.Word(h.Start - 1)
	return given.has(w, prev.Hash) && !own.has(w, prev.Hash)
}

// datelineTokens is how far into a field a dateline may reach.
const datelineTokens = 3

// isDateline reports whether a hit is a dateline place: among the first
// tokens of its field and written in capitals (BERLIN, КИЇВ; Arabic has no
// case, so an Arabic dateline is told by its position before a separator
// such as "كييف/" by the dictionary's own rules instead).
func isDateline(d *text.Doc, h match.Hit) bool {
	if h.Start >= datelineTokens {
		return false
	}
	if h.Start == 0 && dateFollows(d.Src[d.Tokens[h.End-1].BEnd:]) {
		return true // "Москва. 30 ноября. ИНТЕРФАКС", "Kyiv, Dec 3 -" in any case
	}
	orig := d.Original(h.Start, h.End-1)
	letters := 0
	for _, r := range orig {
		if unicode.IsLower(r) {
			return false
		}
		if unicode.IsUpper(r) {
			letters++
		}
	}
	return letters >= 2
}

// dateFollows reports whether rest starts with a comma or full stop and then
// a number, the shape of a dateline's date.
func dateFollows(rest string) bool {
	rest = strings.TrimLeft(rest, " ")
	if rest == "" || (rest[0] != ',' && rest[0] != '.') {
		return false
	}
	rest = strings.TrimLeft(rest[1:], " ")
	return rest != "" && rest[0] >= '0' && rest[0] <= '9'
}

// previousWord is the word before a hit for prev / not_prev. An Arabic
// preposition fused to the match (بموسكو "in Moscow", لكييف "to Kyiv") is
// that word: it is what a separate في or إلى would be, so a rule such as
// not_prev: [في, ب] sees it. A fused conjunction alone (وموسكو) is skipped
// and the real previous token counts.
func previousWord(d *text.Doc, h match.Hit) ([]byte, uint64, bool) {
	if h.Clitic > 0 {
		w := d.Word(h.Start)
		clitic := w[:min(2*h.Clitic, len(w))] // Arabic clitic letters are two bytes each
		if len(clitic) >= 2 && (string(clitic[:2]) == "و" || string(clitic[:2]) == "ف") {
			clitic = clitic[2:]
		}
		if len(clitic) >= 2 {
			switch string(clitic[:2]) {
			case "ب", "ك", "ل":
				return clitic[:2], text.Hash(clitic[:2]), true
			}
		}
	}
	if h.Start == 0 {
		return nil, 0, false
	}
	return d.Word(h.Start - 1), d.Tokens[h.Start-1].Hash, true
}

// listWords join the items of a list: "in Moscow, Miami and Berlin".
var listWords = map[string]bool{"and": true, "or": true, "et": true, "ou": true, "und": true, "oder": true, "y": true,
	"o": true, "e": true, "ve": true, "и": true, "или": true, "і": true, "й": true, "та": true, "або": true}

// inVenueList reports whether the hit is a later item of a list of names
// whose first item follows one of the venue words: "в Москве, Майами и
// Берлине" makes Berlin a venue as much as Moscow. It walks back from the
// hit over list words and capitalized names, in the same sentence, to at
// most eight tokens.
func inVenueList(d *text.Doc, h match.Hit, venue *wordSet) bool {
	j := h.Start - 1
	if h.Clitic > 0 || j < 0 {
		return false
	}
	if !listWords[string(d.Word(j))] && !strings.Contains(d.Src[d.Tokens[j].BEnd:d.Tokens[h.Start].BStart], ",") {
		return false // the item before must be joined by a list word or a comma
	}
	sent := d.Tokens[h.Start].Sent
	for ; j >= 0 && j >= h.Start-8 && d.Tokens[j].Sent == sent; j-- {
		w := d.Word(j)
		switch {
		case venue.has(w, d.Tokens[j].Hash):
			return true
		case listWords[string(w)] || d.Tokens[j].Upper:
		default:
			return false
		}
	}
	return false
}

// apostropheBetween reports whether tokens i and i+1 are joined by one
// apostrophe, as a Turkish case suffix is joined to a name (Kiev'de).
func apostropheBetween(d *text.Doc, i int) bool {
	between := d.Src[d.Tokens[i].BEnd:d.Tokens[i+1].BStart]
	r, size := utf8.DecodeRuneInString(between)
	return size == len(between) && text.IsApostrophe(r)
}

// statementFollows reports whether a statement verb (Tagger.said) is among
// the three words after the hit, in its sentence: the capital is then the
// voice of its government, not a venue ("В Москве заявили", "У Вашингтоні
// раніше розраховували", "In Berlin heißt es").
func (t *Tagger) statementFollows(d *text.Doc, h match.Hit) bool {
	sent := d.Tokens[h.Start].Sent
	for j := h.End; j < len(d.Tokens) && j < h.End+3 && d.Tokens[j].Sent == sent; j++ {
		if t.said.has(d.Word(j), d.Tokens[j].Hash) {
			return true
		}
	}
	return false
}

// nearAny reports whether one of words stands within window tokens of the
// hit, in its sentence: a word across a full stop is context of another
// statement ("…260,000 soldiers. No cap for volunteers…").
func nearAny(d *text.Doc, h match.Hit, window int, words *wordSet) bool {
	lo, hi := max(h.Start-window, 0), min(h.End+window, len(d.Tokens))
	sent := d.Tokens[h.Start].Sent
	for j := lo; j < hi; j++ {
		if j >= h.Start && j < h.End || d.Tokens[j].Sent != sent {
			continue
		}
		if words.has(d.Word(j), d.Tokens[j].Hash) {
			return true
		}
	}
	return false
}

// markQuoted finds the speaker of each reporting verb: the nearest person,
// organization or country mention in the same sentence within speechWindow
// tokens, preferring the one before the verb ("Peskov said", "Kremlin
// spokesman Dmitry Peskov told reporters") over the one after ("said
// Peskov"). Media are never speakers: "told Reuters" names the channel.
func (t *Tagger) markQuoted(sc *scratch) {
	for _, s := range sc.speech {
		d := &sc.fields[s.field].doc
		sent := d.Tokens[s.hit.Start].Sent
		best, bestDist := -1, speechWindow
		for ai := range sc.actors {
			a := &sc.actors[ai]
			if a.field != s.field || d.Tokens[a.hit.Start].Sent != sent {
				continue
			}
			if t.entities[t.pats[a.pat].entity].meta.Kind == dict.KindMedia {
				continue
			}
			var dist int
			if a.hit.End <= s.hit.Start {
				dist = s.hit.Start - a.hit.End // before the verb
			} else if a.hit.Start >= s.hit.End {
				dist = a.hit.Start - s.hit.End + 1 // after: a tie goes to the one before
			} else {
				continue
			}
			if dist < bestDist {
				best, bestDist = ai, dist
			}
		}
		if best >= 0 {
			sc.actors[best].quoted = true
		}
	}
}

func (t *Tagger) mention(sc *scratch, f found) schema.Mention {
	d := &sc.fields[f.field].doc
	bStart, rStart := d.Tokens[f.hit.Start].BStart, d.Tokens[f.hit.Start].RStart
	if f.hit.Clitic > 0 {
		bStart, rStart = d.Skip(f.hit.Start, f.hit.Clitic)
	}
	last := d.Tokens[f.hit.End-1]
	return schema.Mention{
		Field: sc.fields[f.field].name,
		Start: int(rStart),
		End:   int(last.REnd),
		Text:  d.Src[bStart:last.BEnd],
	}
}

// kindOrder ranks actor kinds in the output: people, organizations, media,
// countries.
func kindOrder(kind string) int {
	switch kind {
	case dict.KindPerson:
		return 0
	case dict.KindOrganization:
		return 1
	case dict.KindMedia:
		return 2
	}
	return 3
}

func (t *Tagger) actorsOut(sc *scratch) []schema.Actor {
	// Group mentions by entity, keeping text order within each, so that all
	// mentions of the story share one allocation.
	slices.SortStableFunc(sc.actors, func(a, b found) int { return t.pats[a.pat].entity - t.pats[b.pat].entity })
	mentions := make([]schema.Mention, len(sc.actors))
	n := 0
	for k := 0; k < len(sc.actors); k++ {
		if k == 0 || t.pats[sc.actors[k].pat].entity != t.pats[sc.actors[k-1].pat].entity {
			n++
		}
	}
	out := make([]schema.Actor, 0, n)
	for k, f := range sc.actors {
		ei := t.pats[f.pat].entity
		mentions[k] = t.mention(sc, f)
		if k == 0 || ei != t.pats[sc.actors[k-1].pat].entity {
			m := t.entities[ei].meta
			out = append(out, schema.Actor{ID: m.ID, Kind: m.Kind, Name: m.Name, Wikidata: m.Wikidata, Mentions: mentions[k:k]})
		}
		a := &out[len(out)-1]
		a.Count++
		a.Quoted = a.Quoted || f.quoted
		a.Mentions = a.Mentions[:len(a.Mentions)+1]
	}
	for i := range out { // cap each actor's slice so appends by callers cannot overwrite a neighbour
		out[i].Mentions = out[i].Mentions[:len(out[i].Mentions):len(out[i].Mentions)]
	}
	// A generic sort: sort.SliceStable swaps these large structs through
	// reflection, and was 6 % of a story's time.
	slices.SortStableFunc(out, func(a, b schema.Actor) int {
		if ka, kb := kindOrder(a.Kind), kindOrder(b.Kind); ka != kb {
			return ka - kb
		}
		if a.Count != b.Count {
			return b.Count - a.Count
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

func (t *Tagger) topicsOut(sc *scratch) []schema.Topic {
	// Group mentions by topic in text order, all in one allocation, as
	// actorsOut does: count the accepted mentions per topic first.
	clear(sc.slot)
	n, topics := 0, 0
	for _, f := range sc.topics {
		ei := t.pats[f.pat].entity
		e := &t.entities[ei]
		if sc.score[ei] < e.threshold || !t.gateOpen(sc, e) {
			continue
		}
		if sc.slot[ei] == 0 {
			topics++
		}
		sc.slot[ei]++
		n++
	}
	out := make([]schema.Topic, 0, topics)
	mentions := make([]schema.Mention, n)
	next := 0
	for _, f := range sc.topics {
		ei := t.pats[f.pat].entity
		if sc.slot[ei] <= 0 { // below threshold or gated (0), or placed (< 0: -1 - index into out)
			if sc.slot[ei] == 0 {
				continue
			}
		} else {
			e := &t.entities[ei]
			k := sc.slot[ei]
			out = append(out, schema.Topic{ID: e.meta.ID, Name: e.meta.Name, Points28: e.meta.Points28, Points20: e.meta.Points20,
				Score: math.Round(sc.score[ei]*100) / 100, Mentions: mentions[next : next : next+k]})
			next += k
			sc.slot[ei] = -len(out)
		}
		tp := &out[-sc.slot[ei]-1]
		tp.Mentions = append(tp.Mentions, t.mention(sc, f))
	}
	slices.SortStableFunc(out, func(a, b schema.Topic) int {
		if a.Score != b.Score {
			return cmp.Compare(b.Score, a.Score)
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

func (t *Tagger) gateOpen(sc *scratch, e *entity) bool {
	if !e.gated || sc.gateCue {
		return true
	}
	for _, g := range e.requiresAny {
		if sc.present[g] {
			return true
		}
	}
	return false
}

// fillNinjs adds the ninjs 2.x-style views of the tags.
func (t *Tagger) fillNinjs(rec *schema.Enriched) {
	var np, no, nc int
	for _, a := range rec.Actors {
		switch a.Kind {
		case schema.KindPerson:
			np++
		case schema.KindCountry:
			nc++
		default:
			no++
		}
	}
	// One backing array for the four views, each capped so that appending
	// to one cannot run into the next.
	all := make([]schema.NinjsEntity, np+no+nc+len(rec.Topics))
	rec.People = all[0:0:np]
	rec.Organisations = all[np : np : np+no]
	rec.Places = all[np+no : np+no : np+no+nc]
	rec.Subjects = all[np+no+nc : np+no+nc]
	for _, a := range rec.Actors {
		e := schema.NinjsEntity{Name: a.Name, Rel: "mentioned", Literal: a.ID, URI: t.entities[t.byID[a.ID]].uri}
		if a.Quoted {
			e.Rel = "quoted"
		}
		switch a.Kind {
		case schema.KindPerson:
			rec.People = append(rec.People, e)
		case schema.KindOrganization, schema.KindMedia:
			rec.Organisations = append(rec.Organisations, e)
		case schema.KindCountry:
			rec.Places = append(rec.Places, e)
		}
	}
	for _, tp := range rec.Topics {
		rec.Subjects = append(rec.Subjects, schema.NinjsEntity{Name: tp.Name, Rel: "about", Literal: tp.ID, URI: t.entities[t.byID[tp.ID]].uri,
			Relevance: int(math.Min(100, math.Round(100*(1-math.Exp(-tp.Score)))))})
	}
}

// entityURI names an id in ninjs views: Wikidata where the taxonomy has it.
func entityURI(m dict.Meta) string {
	switch {
	case m.Wikidata != "":
		return "http://www.wikidata.org/entity/" + m.Wikidata
	case m.Kind == dict.KindCountry:
		return "http://iso.org/3166/" + m.ID
	case m.Kind == dict.KindTopic:
		return "urn:wiretag:topic:" + m.ID
	}
	return "urn:wiretag:actor:" + m.ID
}
