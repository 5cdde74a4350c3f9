package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/wiretag/wiretag/processor/explain"
	"github.com/wiretag/wiretag/processor/tagger"
	"github.com/wiretag/wiretag/schema"
)

// maxTagLine bounds one input line (one story) for wiretag tag.
const maxTagLine = 16 << 20

func cmdTag(args []string) int {
	fs := flag.NewFlagSet("tag", flag.ContinueOnError)
	explainFlag := fs.Bool("explain", false, "print a human view (marked text and a summary) instead of JSON")
	dictDir := fs.String("dictionaries", os.Getenv("WIRETAG_DICTIONARY_DIR"), "dictionary directory (default: embedded)")
	maxBody := fs.Int("max-body-bytes", 1<<20, "reject stories whose text is larger than this")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `usage: wiretag tag [--explain] [FILE…]

Reads stories and writes one enriched record per line. A file whose first
non-blank byte is '{' is read as JSON lines (wiretag stories or ninjs
documents, one per line); any other file is one plain-text story whose id is
the file name. No FILE, or '-', reads standard input.`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	t, err := loadTagger(*dictDir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "wiretag tag:", err)
		return 1
	}
	files := fs.Args()
	if len(files) == 0 {
		files = []string{"-"}
	}
	out := bufio.NewWriterSize(os.Stdout, 1<<16)
	defer out.Flush()
	tg := &tagRun{t: t, out: out, explain: *explainFlag, lim: schema.Limits{MaxBodyBytes: *maxBody}}
	for _, name := range files {
		if err := tg.file(name); err != nil {
			fmt.Fprintln(os.Stderr, "wiretag tag:", err)
			tg.failed++
		}
	}
	if tg.failed > 0 {
		out.Flush()
		fmt.Fprintf(os.Stderr, "wiretag tag: %d story/stories failed, %d tagged\n", tg.failed, tg.ok)
		return 1
	}
	return 0
}

type tagRun struct {
	t          *tagger.Tagger
	out        *bufio.Writer
	explain    bool
	lim        schema.Limits
	ok, failed int
	buf        []byte
}

func (r *tagRun) file(name string) error {
	var in io.Reader = os.Stdin
	id := "stdin"
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		in, id = f, filepath.Base(name)
	}
	br := bufio.NewReaderSize(in, 1<<16)
	head, _ := br.Peek(512)
	if first := bytes.TrimLeft(head, " \t\r\n\ufeff"); len(first) > 0 && first[0] != '{' {
		data, err := io.ReadAll(br)
		if err != nil {
			return fmt.Errorf("read %s: %w", name, err)
		}
		r.story(data, id, name, 0)
		return nil
	}
	sc := bufio.NewScanner(br)
	sc.Buffer(make([]byte, 1<<16), maxTagLine)
	n := 0
	for sc.Scan() {
		n++
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		r.story(line, fmt.Sprintf("%s:%d", id, n), name, n)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return fmt.Errorf("%s:%d: line longer than %d bytes; stopped reading this file", name, n+1, maxTagLine)
		}
		return fmt.Errorf("read %s: %w", name, err)
	}
	return nil
}

func (r *tagRun) story(data []byte, fallbackID, name string, line int) {
	st, err := schema.Decode(data, fallbackID, r.lim)
	if err != nil {
		where := name
		if line > 0 {
			where = fmt.Sprintf("%s:%d", name, line)
		}
		fmt.Fprintf(os.Stderr, "%s: %v\n", where, err)
		r.failed++
		return
	}
	rec := r.t.Tag(st)
	if r.explain {
		explain.Write(r.out, rec)
	} else {
		r.buf, err = appendRecord(r.buf[:0], rec)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: encode %s: %v\n", name, st.ID, err)
			r.failed++
			return
		}
		r.buf = append(r.buf, '\n')
		r.out.Write(r.buf)
	}
	r.ok++
}
