package eval

import "github.com/leadq/leadq/rules/rulefile"

// CompareConstant returns `f op k` (op one of == != < <= > >=) as one
// closure that reads the field's column itself, for the comparisons most
// conditions are made of: the general native form calls a closure for
// each operand. It covers int fields against an int, float fields against
// an int or a float, and string fields against a string; nil otherwise. It
// does not check that the field is present.
func CompareConstant(op string, f *Field, k any) func(*Row) bool {
	slot := f.Slot
	switch k := k.(type) {
	case int:
		switch f.Type {
		case rulefile.TypeInt:
			return compareInt(op, slot, k)
		case rulefile.TypeFloat:
			return compareFloat(op, slot, float64(k))
		}
	case float64:
		if f.Type == rulefile.TypeFloat {
			return compareFloat(op, slot, k)
		}
	case string:
		if f.Type == rulefile.TypeString {
			return compareString(op, slot, k)
		}
	}
	return nil
}

func compareInt(op string, slot, k int) func(*Row) bool {
	switch op {
	case "==":
		return func(r *Row) bool { return r.ints[slot] == k }
	case "!=":
		return func(r *Row) bool { return r.ints[slot] != k }
	case "<":
		return func(r *Row) bool { return r.ints[slot] < k }
	case "<=":
		return func(r *Row) bool { return r.ints[slot] <= k }
	case ">":
		return func(r *Row) bool { return r.ints[slot] > k }
	case ">=":
		return func(r *Row) bool { return r.ints[slot] >= k }
	}
	return nil
}

func compareFloat(op string, slot int, k float64) func(*Row) bool {
	switch op {
	case "==":
		return func(r *Row) bool { return r.floats[slot] == k }
	case "!=":
		return func(r *Row) bool { return r.floats[slot] != k }
	case "<":
		return func(r *Row) bool { return r.floats[slot] < k }
	case "<=":
		return func(r *Row) bool { return r.floats[slot] <= k }
	case ">":
		return func(r *Row) bool { return r.floats[slot] > k }
	case ">=":
		return func(r *Row) bool { return r.floats[slot] >= k }
	}
	return nil
}

func compareString(op string, slot int, k string) func(*Row) bool {
	switch op {
	case "==":
		return func(r *Row) bool { return r.strs[slot] == k }
	case "!=":
		return func(r *Row) bool { return r.strs[slot] != k }
	case "<":
		return func(r *Row) bool { return r.strs[slot] < k }
	case "<=":
		return func(r *Row) bool { return r.strs[slot] <= k }
	case ">":
		return func(r *Row) bool { return r.strs[slot] > k }
	case ">=":
		return func(r *Row) bool { return r.strs[slot] >= k }
	}
	return nil
}
