// Command worker is ordersync: it consumes order events from Kafka, uploads
// each to WeChat Pay's catering order sync-status API, and dead-letters what
// cannot succeed. Subcommands: run (default), replay, dlq, ledger, report, validate, version.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/ordersync/ordersync/internal/buildcrypto"
	"github.com/ordersync/ordersync/internal/config"
	"github.com/ordersync/ordersync/internal/mapper"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = ""

// Exit statuses.
const (
	exitOK      = 0
	exitFailed  = 1
	exitUsage   = 2
	programName = "worker"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := dispatch(ctx, stop, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// dispatch runs one command line and returns its exit status, chosen from
// the error run returns (see exitStatus).
func dispatch(ctx context.Context, stop func(), args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return exitStatus(run(ctx, stop, args, stdio{in: stdin, out: stdout, err: stderr}), stderr)
}

// stdio is a command's standard streams.
type stdio struct {
	in       io.Reader
	out, err io.Writer
}

// exitError is a failure with its exit status. err, when set, is printed
// as one line after cmd; nil means the command already reported it.
type exitError struct {
	code int
	cmd  string
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.cmd + ": " + e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// usageError is a bad command line or setting found by cmd: exit 2.
func usageError(cmd string, err error) error { return &exitError{code: exitUsage, cmd: cmd, err: err} }

// failed is a failure found by cmd: exit 1.
func failed(cmd string, err error) error { return &exitError{code: exitFailed, cmd: cmd, err: err} }

// status is the result of a command that reported its own failure: nil for
// exitOK, else an error carrying code.
func status(code int) error {
	if code == exitOK {
		return nil
	}
	return &exitError{code: code}
}

// exitStatus is the one place an error becomes an exit status and, unless
// already reported, one line on stderr: nil or -h 0, a setting
// (config.Error) or usage error 2, any other failure 1.
func exitStatus(err error, stderr io.Writer) int {
	var exit *exitError
	var setting *config.Error
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &exit):
		if exit.err != nil {
			_, _ = fmt.Fprintln(stderr, exit.Error())
		}
		return exit.code
	case errors.As(err, &setting):
		_, _ = fmt.Fprintf(stderr, "%s: %v\n", programName, err)
		return exitUsage
	default:
		_, _ = fmt.Fprintf(stderr, "%s: %v\n", programName, err)
		return exitFailed
	}
}

// run runs the subcommand args name (run when none). stop restores the
// default signal handling, so that a second signal ends the process at once.
func run(ctx context.Context, stop func(), args []string, std stdio) error {
	name := "run"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	} else if len(args) == 1 {
		switch args[0] {
		case "-h", "-help", "--help":
			name = "help" // the subcommands; `worker run -h` lists run's flags
		case "-version", "--version":
			name = "version"
		}
	}
	switch name {
	case "run":
		return cmdRun(ctx, stop, args, std.err)
	case "replay":
		return cmdReplay(ctx, stop, args, std.out, std.err)
	case "dlq":
		return cmdDLQ(ctx, args, std.out, std.err)
	case "ledger":
		return cmdLedger(ctx, args, std.out, std.err)
	case "report":
		return cmdReport(ctx, args, std.out, std.err)
	case "validate":
		return cmdValidate(args, std.in, std.out, std.err)
	case "version":
		_, err := fmt.Fprintln(std.out, "ordersync", buildVersion(), "crypto="+buildcrypto.Name())
		return err
	case "help":
		usage(std.out)
		return nil
	default:
		_, _ = fmt.Fprintf(std.err, "%s: unknown subcommand %q\n", programName, name)
		usage(std.err)
		return status(exitUsage)
	}
}

func usage(w io.Writer) {
	_, _ = fmt.Fprint(w, `usage: worker [run] [flags]        consume, upload, dead-letter (default)
       worker replay [flags]       republish dead letters to their original topic
       worker dlq [flags]          summarise the dead-letter topic
       worker ledger --merchant SUB_MCHID --order ORDER_NO   an order's delivered state
       worker report [--since T] [--until T] [--format table|csv|json]   per sub-merchant and day
       worker validate [FILE|-]    map and check events offline, one JSON event per line
       worker version
Every setting is an ORDERSYNC_* variable, a flag (worker run -h lists them all; each subcommand's -h
the ones it uses) or a key of --config FILE.
`)
}

func buildVersion() string {
	if version != "" {
		return version
	}
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		return info.Main.Version
	}
	return "dev"
}

// settings is a parsed command line: the config loader plus the command's own flags.
type settings struct {
	fs     *flag.FlagSet
	loader *config.Loader
}

// newSettings binds the flags of the settings in groups (all of them with
// none) for subcommand name; the command adds its own flags to fs.
func newSettings(name string, stderr io.Writer, groups ...config.Group) settings {
	fs := flag.NewFlagSet(programName+" "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return settings{fs: fs, loader: config.Bind(fs, groups...)}
}

// load parses args and loads the configuration. Its error is flag.ErrHelp
// for -h, a config.Error naming a bad setting, or an already reported bad
// flag.
func (s settings) load(args []string, need config.Need) (*config.Config, []string, error) {
	if err := s.fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, nil, err
		}
		return nil, nil, status(exitUsage) // the flag package printed it
	}
	return s.loader.Load(os.LookupEnv, os.Environ(), need)
}

// noArgs returns a usage error naming the first positional argument left on
// the command line, if any (a value after a flag that takes none, such as
// --dry-run 5).
func (s settings) noArgs() error {
	if s.fs.NArg() == 0 {
		return nil
	}
	return usageError(s.fs.Name(), fmt.Errorf("unexpected argument %q (flags take --name value; boolean flags take no value)", s.fs.Arg(0)))
}

func mapperConfig(cfg *config.Config) mapper.Config {
	if cfg.MerchantsFile != "" {
		// Modes and ids per sub-merchant, from the registry file.
		return mapper.Config{Mode: cfg.Registry.FallbackMode(), SkipTypes: cfg.SkipTypes, Accounts: cfg.Registry.MapperAccounts()}
	}
	return mapper.Config{
		Mode:      mapper.Mode(cfg.Mode),
		MchID:     cfg.MchID,
		SpAppID:   cfg.SpAppID,
		ChannelID: cfg.ChannelID,
		SkipTypes: cfg.SkipTypes,
	}
}

// newMapper builds the mapper from the payload defaults; a default the API
// would reject is reported as the setting that holds it.
func newMapper(cfg *config.Config) (*mapper.Mapper, error) {
	m, err := mapper.New(mapperConfig(cfg))
	var ce *mapper.ConfigError
	if errors.As(err, &ce) {
		if setting := mapperSetting(cfg, ce.Field); setting != "" {
			return nil, &config.Error{Setting: setting, Reason: err.Error()}
		}
	}
	if err != nil {
		return nil, fmt.Errorf("build mapper: %w", err)
	}
	return m, nil
}

// mapperSetting names the setting behind the mapper.Config id field
// mapperConfig fills from it, "" for another field.
func mapperSetting(cfg *config.Config, field string) string {
	switch field {
	case "MchID":
		return cfg.Settings.MchID.Label()
	case "SpAppID":
		return cfg.Settings.SpAppID.Label()
	case "ChannelID":
		return cfg.Settings.ChannelID.Label()
	}
	return ""
}

func cmdValidate(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	s := newSettings("validate", stderr, config.GroupMapper)
	cfg, _, err := s.load(args, 0)
	if err != nil {
		return err
	}
	if _, err := newMapper(cfg); err != nil {
		return usageError(programName, err)
	}
	prog, err := loadMapping(cfg)
	if err != nil {
		return err
	}
	return runValidateMapped(s.fs.Args(), mapperConfig(cfg), prog, stdin, stdout, stderr)
}

// cmdReplay runs `worker replay`. The first signal makes it finish its
// current batch; stop then restores the default handling, so that a second
// signal ends the process at once.
func cmdReplay(ctx context.Context, stop func(), args []string, stdout, stderr io.Writer) error {
	defer context.AfterFunc(ctx, stop)()
	s := newSettings("replay", stderr, config.GroupKafka, config.GroupLedger, config.GroupGuard, config.GroupMapper)
	f := bindReplayFlags(s.fs)
	cfg, err := s.loadKafka(args)
	if err != nil {
		return err
	}
	defer cfg.Transport.CloseIdleConnections()
	if f.dryRun && cfg.full.Ledger && len(cfg.full.Topics) > 0 {
		guard, err := dryRunGuard(ctx, cfg.full, stderr)
		if err != nil {
			return failed(programName+" replay", err)
		}
		cfg.Guard = guard
	}
	return runReplay(ctx, cfg, f, stdout, stderr)
}

func cmdDLQ(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	s := newSettings("dlq", stderr, config.GroupKafka)
	f := bindDLQFlags(s.fs)
	cfg, err := s.loadKafka(args)
	if err != nil {
		return err
	}
	return runDLQ(ctx, cfg, f, stdout, stderr)
}

// loadKafka loads the settings of a command that reads and writes Kafka
// topics but uploads nothing (replay, dlq), rejecting stray arguments.
func (s settings) loadKafka(args []string) (replayConfig, error) {
	cfg, _, err := s.load(args, config.NeedKafka)
	if err == nil {
		err = s.noArgs()
	}
	if err != nil {
		return replayConfig{}, err
	}
	return replayConfig{Brokers: cfg.Brokers, DLQTopic: cfg.DLQTopic, Transport: cfg.Kafka.Transport(), full: cfg}, nil
}
