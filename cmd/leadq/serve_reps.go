package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/leadq/leadq/accounts"
	"github.com/leadq/leadq/decisionlog"
	"github.com/leadq/leadq/server"
	"github.com/spf13/pflag"
)

// repsOptions are leadq serve's flags for the decision log and the account
// file.
type repsOptions struct {
	logDB        string
	logRetention string
	logMask      string
	logSaltFile  string
	logBuffer    int
	accounts     string
}

func addRepsFlags(f *pflag.FlagSet, o *repsOptions) {
	f.StringVar(&o.logDB, "log-db", "", "log every decision to this SQLite file, for leadq why, leadq stats and the reps' page at /reps/")
	f.StringVar(&o.logRetention, "log-retention", "forever", "what the decision log keeps: an age (30d), a count (1000000), or both (30d,1000000)")
	f.StringVar(&o.logMask, "log-mask", "none", "mask personal data in the decision log: none, hash or drop, optionally :field,field (default fields: email, phone, mobile, first_name, last_name, full_name)")
	f.StringVar(&o.logSaltFile, "log-salt-file", "", "salt for --log-mask hash, kept outside the log (default: a random salt kept in the log)")
	f.IntVar(&o.logBuffer, "log-buffer", decisionlog.DefaultBuffer, "decisions waiting to be written before the log drops (and counts) them rather than slow scoring")
	f.StringVar(&o.accounts, "accounts", "", "account file (CSV with a header or JSONL, with a domain column): leads sent without an account are scored with the account of their email domain")
}

// openReps opens the decision log and the account file the flags name and
// returns the server options that wire them in, a func that closes them,
// and one that reloads the account file (nil without one), for SIGHUP.
// Closing writes what the log still buffers: call it after the HTTP
// server has finished its requests.
func openReps(ctx context.Context, o repsOptions, watch bool, log *slog.Logger) (opts []server.Option, closeAll func(), reload func(context.Context) error, err error) {
	var closers []func()
	closeAll = func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	if o.logDB != "" {
		retention, err := decisionlog.ParseRetention(o.logRetention)
		if err != nil {
			return nil, nil, nil, &usageError{fmt.Errorf("--log-retention: %w", err)}
		}
		mask, err := decisionlog.ParseMask(o.logMask)
		if err != nil {
			return nil, nil, nil, &usageError{fmt.Errorf("--log-mask: %w", err)}
		}
		if o.logSaltFile != "" {
			if mask.Salt, err = readSalt(o.logSaltFile); err != nil {
				return nil, nil, nil, err
			}
		}
		dl, err := decisionlog.Open(ctx, o.logDB, decisionlog.WithRetention(retention), decisionlog.WithMask(mask),
			decisionlog.WithBuffer(o.logBuffer), decisionlog.WithLogger(log))
		if err != nil {
			return nil, nil, nil, err
		}
		closers = append(closers, func() {
			if err := dl.Close(); err != nil {
				log.Error("closing the decision log", "err", err)
			}
			log.Info("decision log closed", "path", o.logDB, "written", dl.Written(), "dropped", dl.Dropped(), "failed", dl.Failed())
		})
		log.Info("logging decisions", "path", o.logDB, "retention", retention.String(), "mask", mask.String())
		opts = append(opts, server.WithDecisionLog(dl), server.WithDecisionStore(dl))
	}
	if o.accounts != "" {
		dir, err := accounts.Open(ctx, o.accounts, accounts.WithLogger(log))
		if err != nil {
			closeAll()
			return nil, nil, nil, err
		}
		if watch {
			w, err := dir.Watch(ctx)
			if err != nil {
				closeAll()
				return nil, nil, nil, err
			}
			closers = append(closers, func() { w.Close() })
		}
		opts = append(opts, server.WithAccounts(dir))
		reload = dir.Reload
	}
	return opts, closeAll, reload, nil
}
