package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"

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
	logKeyFile   string
	logBuffer    int
	logBatch     int
	logJournal   int
	logOverflow  string
	accounts     string
}

func addRepsFlags(f *pflag.FlagSet, o *repsOptions) {
	f.StringVar(&o.logDB, "log-db", "", "log every decision to this SQLite file, or to PostgreSQL (postgres://user:password@host/db: one log for many replicas), for leadq why, leadq stats and the reps' page at /reps/")
	f.StringVar(&o.logRetention, "log-retention", "forever", "what the decision log keeps: an age (30d), a count (1000000), or both (30d,1000000)")
	f.StringVar(&o.logMask, "log-mask", "none", "mask personal data in the decision log: none, hash or drop, optionally :field,field (default fields: "+strings.Join(decisionlog.DefaultMaskFields, ", ")+")")
	f.StringVar(&o.logKeyFile, "log-mask-key-file", "", "file holding the key --log-mask hash hashes with (16 bytes or more; or set "+maskKeyEnv+"); the log never stores it")
	f.IntVar(&o.logBuffer, "log-buffer", decisionlog.DefaultBuffer, "decisions waiting for the log's writer")
	f.IntVar(&o.logBatch, "log-batch", decisionlog.DefaultBatch, "decisions the log's writer stores in one transaction (SQLite) or COPY (PostgreSQL)")
	f.IntVar(&o.logJournal, "log-journal", decisionlog.DefaultMaxUnindexed, "decisions the log may hold unindexed (in its journal, which every lookup reads) before its writer indexes as it writes: a longer bulk stream slows to the indexer's pace; more keeps bulk loads fast, and lookups meanwhile slower")
	f.StringVar(&o.logOverflow, "log-overflow", string(decisionlog.OverflowBlock), "when the log's buffer is full: block (wait for room, up to the request's --timeout, then drop) or drop (at once); drops are counted and logged")
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
		if o.logOverflow == "" { // options built without the flags (tests)
			o.logOverflow = string(decisionlog.OverflowBlock)
		}
		if o.logBatch == 0 {
			o.logBatch = decisionlog.DefaultBatch
		}
		if o.logJournal == 0 {
			o.logJournal = decisionlog.DefaultMaxUnindexed
		}
		if o.logJournal < 0 {
			return nil, nil, nil, &usageError{fmt.Errorf("--log-journal: %d is not a number of decisions", o.logJournal)}
		}
		overflow, err := decisionlog.ParseOverflow(o.logOverflow)
		if err != nil {
			return nil, nil, nil, &usageError{fmt.Errorf("--log-overflow: %w", err)}
		}
		if mask.Key, err = maskKey(o.logKeyFile); err != nil {
			return nil, nil, nil, err
		}
		if mask.Mode == decisionlog.MaskHash && mask.Key == nil {
			return nil, nil, nil, &usageError{fmt.Errorf("--log-mask hash needs a key kept outside the log: --log-mask-key-file FILE or %s", maskKeyEnv)}
		}
		dl, err := decisionlog.Open(ctx, o.logDB, decisionlog.WithRetention(retention), decisionlog.WithMask(mask),
			decisionlog.WithBuffer(o.logBuffer), decisionlog.WithBatch(o.logBatch), decisionlog.WithOverflow(overflow), decisionlog.WithLogger(log),
			decisionlog.WithIndexing(decisionlog.DefaultIndexIdle, o.logJournal))
		if err != nil {
			return nil, nil, nil, err
		}
		closers = append(closers, func() {
			if err := dl.Close(); err != nil {
				log.Error("closing the decision log", "err", err)
			}
			log.Info("decision log closed", "log", dl.Path(), "written", dl.Written(), "dropped", dl.Dropped(), "failed", dl.Failed())
		})
		log.Info("logging decisions", "log", dl.Path(), "retention", retention.String(), "mask", mask.String(), "overflow", overflow, "buffer", o.logBuffer, "journal", o.logJournal)
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

// maskKeyEnv is the environment variable that may hold the masking key
// instead of --log-mask-key-file (a Kubernetes Secret as either).
const maskKeyEnv = "LEADQ_LOG_MASK_KEY"

// maskKey reads the masking key: the file's bytes without a final newline,
// else the environment variable's; nil when neither is given.
func maskKey(file string) ([]byte, error) {
	var key []byte
	from := maskKeyEnv
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("--log-mask-key-file: %w", err)
		}
		key, from = []byte(strings.TrimRight(string(b), "\r\n")), "--log-mask-key-file "+file
	} else if v := os.Getenv(maskKeyEnv); v != "" {
		key = []byte(v)
	} else {
		return nil, nil
	}
	if len(key) < decisionlog.MinKeyLen {
		return nil, fmt.Errorf("%s: a masking key needs %d bytes or more, got %d", from, decisionlog.MinKeyLen, len(key))
	}
	return key, nil
}
