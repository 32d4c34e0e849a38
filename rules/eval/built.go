package eval

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/expr-lang/expr/builtin"
)

// MaxBuilt is the most bytes one call of expr's repeat, replace, join,
// string or toJSON may build. expr sizes their results from their
// arguments, which a condition takes from the lead: repeat(lead.title,
// lead.n) with a 500 KB title asked for 450 GB, and the Go runtime ends
// the process when it cannot allocate instead of failing the call. Past
// the bound the call fails, and its rule errors while the others decide.
const MaxBuilt = 16 << 20

func repeatSize(a []any) int {
	s, _ := a[0].(string)
	n, _ := a[1].(int)
	if n > 0 && len(s) > MaxBuilt/n {
		return MaxBuilt + 1
	}
	return len(s) * n
}

func replaceSize(a []any) int {
	s, _ := a[0].(string)
	old, _ := a[1].(string)
	repl, _ := a[2].(string)
	n := strings.Count(s, old) // for "": one more than the characters
	if len(a) == 4 {
		if limit, _ := a[3].(int); limit >= 0 && limit < n {
			n = limit
		}
	}
	return len(s) + n*(len(repl)-len(old))
}

func joinSize(a []any) int {
	glue := ""
	if len(a) == 2 {
		glue, _ = a[1].(string)
	}
	size := 0
	switch l := a[0].(type) {
	case []string:
		for _, s := range l {
			if size += len(s) + len(glue); size > MaxBuilt {
				break
			}
		}
	case []any:
		for _, s := range l {
			s, _ := s.(string)
			if size += len(s) + len(glue); size > MaxBuilt {
				break
			}
		}
	}
	return size
}

// bounded is the row of expr's builtin name that refuses a call whose
// size (of its arguments) is past MaxBuilt.
func bounded(name string, size func(args []any) int) function {
	b := builtin.Builtins[builtin.Index[name]]
	types := make([]any, len(b.Types))
	for i, t := range b.Types {
		types[i] = reflect.New(t).Interface() // a *func(...), as expr.Function takes signatures
	}
	return function{name: name, types: types, vm: func(args ...any) (any, error) {
		if n := size(args); n > MaxBuilt {
			return nil, fmt.Errorf("%s would build a string of over %d MiB, the most a condition may build", name, MaxBuilt>>20)
		}
		switch {
		case b.Safe != nil:
			v, _, err := b.Safe(args...)
			return v, err
		case b.Func != nil:
			return b.Func(args...)
		}
		return b.Fast(args[0]), nil
	}}
}

// renderedSize is a lower bound of the bytes v takes printed (the strings
// it holds), counted from size and given up once past MaxBuilt: a list of
// 100,000 references to one 1 MB string is small in memory and 100 GB
// printed.
func renderedSize(v any, size int) int {
	switch v := v.(type) {
	case string:
		return size + len(v)
	case []string:
		for _, s := range v {
			if size += len(s) + 1; size > MaxBuilt {
				break
			}
		}
	case []any:
		for _, x := range v {
			if size = renderedSize(x, size+1); size > MaxBuilt {
				break
			}
		}
	case map[string]any:
		for k, x := range v {
			if size = renderedSize(x, size+len(k)+1); size > MaxBuilt {
				break
			}
		}
	default:
		size++
	}
	return size
}
