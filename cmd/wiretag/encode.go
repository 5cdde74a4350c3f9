package main

import "github.com/wiretag/wiretag/schema"

// appendRecord appends the JSON encoding of rec to dst.
func appendRecord(dst []byte, rec *schema.Enriched) ([]byte, error) {
	return rec.AppendJSON(dst)
}
