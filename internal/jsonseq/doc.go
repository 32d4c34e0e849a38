// Package jsonseq reads many JSON values from one stream without decoding
// them: the elements of a JSON array, or values one after another (JSON
// Lines, or pretty-printed objects in a row). It finds where each value
// starts and ends by matching quotes and brackets (internal/swar skips the
// plain bytes of strings eight at a time) and leaves validating a value to
// whoever decodes it, so that a file of leads streams at the decoder's
// speed in bounded memory. `leadq score` reads its inputs with it.
//
// The reference is encoding/json's Decoder: for input it accepts, Reader
// yields the same values (FuzzReader holds the two to it); bare numbers
// and literals at the top are split at spaces, commas and brackets only.
package jsonseq
