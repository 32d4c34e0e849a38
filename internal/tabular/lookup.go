package tabular

import (
	"strconv"
	"strings"
)

// Lookup finds the value at a JSON path in a decoded object: keys joined
// by dots, each optionally followed by [N] array indexes
// ("properties.numberofemployees", "contacts[0].email"). Keys that hold
// dots themselves are found too ("Total.Visits", "x.y" then "z"). ok is
// false when the path leads nowhere or to null.
func Lookup(obj map[string]any, path string) (any, bool) {
	if v, ok := obj[path]; ok {
		return v, v != nil
	}
	for i := 0; i < len(path); i++ {
		if path[i] != '.' && path[i] != '[' && i != len(path)-1 {
			continue
		}
		end := i
		if i == len(path)-1 && path[i] != '.' && path[i] != '[' {
			end = len(path) // the last segment, with its indexes
		}
		seg := path[:end]
		key, idx, _ := strings.Cut(seg, "[")
		if idx != "" && path[i] == '[' {
			continue // the key ends here, the indexes follow: read them with the segment
		}
		v, ok := obj[key]
		if !ok {
			continue
		}
		if idx != "" {
			if v, ok = index(v, "["+idx); !ok {
				continue
			}
		}
		if end == len(path) {
			return v, v != nil
		}
		if next, isObj := v.(map[string]any); isObj {
			if v, ok := Lookup(next, path[end+1:]); ok {
				return v, true
			}
		}
	}
	return nil, false
}

// index follows [N][M]... into nested arrays.
func index(v any, idx string) (any, bool) {
	for _, ix := range strings.Split(idx, "[")[1:] {
		n, err := strconv.Atoi(strings.TrimSuffix(ix, "]"))
		arr, isArr := v.([]any)
		if err != nil || !strings.HasSuffix(ix, "]") || !isArr || n < 0 || n >= len(arr) {
			return nil, false
		}
		v = arr[n]
	}
	return v, true
}
