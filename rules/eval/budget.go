package eval

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// BudgetVar is the hidden variable that holds a decision's *Budget in the
// environment of expr's VM (Row.Env). The compiler puts a call of
// BudgetFunc(BudgetVar, true) before the body of every predicate (the
// loops of any, all, none, one, filter, map, count...), so that a loop
// stops before its next iteration once the budget is spent: a regexp or a builtin inside a
// loop over a range up to a lead's field could otherwise run for minutes.
const (
	BudgetVar  = "__budget__"
	BudgetFunc = "__within_budget__"
)

// ErrBudgetExceeded is the error of a condition that ran out of its
// decision's time budget; the rule is marked errored and the others run.
var ErrBudgetExceeded = errors.New("time budget exceeded")

// Budget is how long the loops of one decision's conditions may run, and
// the context whose end stops them (a request timed out, a client gone).
// It is a per-decision value the engine fills and points a Row at; the
// zero value and a nil *Budget never stop anything.
type Budget struct {
	// Limit is the time the conditions' loops may take, counted from the
	// first loop iteration of the decision (0: no limit).
	Limit time.Duration
	// Ctx is the decision's context; Check fails once it is done. It is
	// here, not a parameter, because the VM's builtins see only their
	// arguments.
	Ctx context.Context

	deadline time.Time // set by the first Check
}

// Check returns ErrBudgetExceeded once the limit has passed, or an error
// wrapping the context's once it is done; nil otherwise.
func (b *Budget) Check() error {
	if b == nil {
		return nil
	}
	if b.Limit > 0 {
		now := time.Now()
		if b.deadline.IsZero() {
			b.deadline = now.Add(b.Limit)
		} else if now.After(b.deadline) {
			return ErrBudgetExceeded
		}
	}
	if b.Ctx != nil {
		if err := b.Ctx.Err(); err != nil {
			return fmt.Errorf("evaluation stopped: %w", err)
		}
	}
	return nil
}

// withinBudget is BudgetFunc: it passes its second argument through when
// the budget in its first allows, and fails the condition otherwise.
func withinBudget(params ...any) (any, error) {
	b, _ := params[0].(*Budget)
	if err := b.Check(); err != nil {
		return nil, err
	}
	return params[1], nil
}
