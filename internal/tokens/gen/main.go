// Command gen writes the o200k_base vocabulary that package tokens embeds,
// taken from github.com/tiktoken-go/tokenizer's codec: every token's bytes
// in rank order, each preceded by its length as a uvarint (0 for a rank
// without a token), gzip'd.
//
// That library stores the vocabulary as a Go map literal, which the
// compiler turns into about 7 MB of string headers, strings and ranks in
// the binary; this file is about 1 MB and is decoded on first use.
//
// Run it with go generate ./internal/tokens; the output is committed, so
// building tidegate needs neither this command nor that library.
package main

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"flag"
	"fmt"
	"log"
	"os"

	"github.com/tiktoken-go/tokenizer/codec"
)

// maxRank bounds the ranks probed: 5 times o200k's.
const maxRank = 1 << 20

func main() {
	out := flag.String("o", "o200k_base.gz", "output file")
	flag.Parse()
	if err := write(*out); err != nil {
		log.Fatal(err)
	}
}

func write(path string) error {
	c := codec.NewO200kBase()
	var raw []byte
	tokens, end := 0, 0 // end: raw's length up to the last token
	// Decode knows a rank's bytes. Probing far past o200k's 200k ranks
	// finds them all; a rank without a token is written with length 0.
	for rank := range maxRank {
		tok, err := c.Decode([]uint{uint(rank)})
		if err != nil {
			raw = append(raw, 0)
			continue
		}
		raw = binary.AppendUvarint(raw, uint64(len(tok)))
		raw = append(raw, tok...)
		tokens, end = tokens+1, len(raw)
	}
	raw = raw[:end]
	if tokens == 0 {
		return fmt.Errorf("o200k_base: no tokens")
	}
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return fmt.Errorf("gzip: %w", err)
	}
	if _, err := zw.Write(raw); err != nil {
		return fmt.Errorf("gzip: %w", err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("gzip: %w", err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write vocabulary: %w", err)
	}
	log.Printf("%s: %d tokens, %d bytes (%d before gzip)", path, tokens, buf.Len(), len(raw))
	return nil
}
