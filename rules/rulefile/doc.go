// Package rulefile is leadq's rule file format, the first stage of package
// rules: Parse decodes one YAML file into a File whose every element keeps
// its position; ParsePaths reads files and directories; Format writes a file
// in the canonical layout `leadq fmt` uses; Schema is its JSON Schema for
// editors. Pos, Error and ErrorList are the one message format of every
// stage (file:line:col: subject: what is wrong (how to fix it)), with the
// stable codes in Codes.
//
// The package decodes and reports only: it does not look inside
// expressions (that is the compiler's job, package compiler) nor evaluate
// anything (package eval). Its functions keep no state and are safe for
// concurrent use; a File is the caller's.
package rulefile
