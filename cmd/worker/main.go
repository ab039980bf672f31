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

// dispatch runs one subcommand and returns its exit status. stop restores the
// default signal handling, so that a second signal ends the process at once.
func dispatch(ctx context.Context, stop func(), args []string, stdin io.Reader, stdout, stderr io.Writer) int {
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
		return cmdRun(ctx, stop, args, stderr)
	case "replay":
		return cmdReplay(ctx, stop, args, stdout, stderr)
	case "dlq":
		return cmdDLQ(ctx, args, stdout, stderr)
	case "ledger":
		return cmdLedger(ctx, args, stdout, stderr)
	case "report":
		return cmdReport(ctx, args, stdout, stderr)
	case "validate":
		return cmdValidate(args, stdin, stdout, stderr)
	case "version":
		_, _ = fmt.Fprintln(stdout, "ordersync", buildVersion(), "crypto="+buildcrypto.Name())
		return exitOK
	case "help":
		usage(stdout)
		return exitOK
	default:
		_, _ = fmt.Fprintf(stderr, "%s: unknown subcommand %q\n", programName, name)
		usage(stderr)
		return exitUsage
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
Every setting is an ORDERSYNC_* variable, a flag (worker run -h lists them) or a key of --config FILE.
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

func newSettings(name string, stderr io.Writer) settings {
	fs := flag.NewFlagSet(programName+" "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return settings{fs: fs, loader: config.Bind(fs)}
}

// load parses args and loads the configuration. It returns ok=false with the
// exit status when the command must stop: -h (0) or a bad flag or setting (2),
// after printing one line that names the problem.
func (s settings) load(args []string, need config.Need, stderr io.Writer) (*config.Config, []string, int, bool) {
	if err := s.fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, nil, exitOK, false
		}
		return nil, nil, exitUsage, false
	}
	cfg, warnings, err := s.loader.Load(os.LookupEnv, os.Environ(), need)
	if err != nil {
		_, _ = fmt.Fprintf(stderr, "%s: %v\n", programName, err)
		return nil, nil, exitUsage, false
	}
	return cfg, warnings, exitOK, true
}

// noArgs reports whether the command line had no positional arguments left,
// printing one line naming the first one otherwise (a value after a flag that
// takes none, such as --dry-run 5).
func (s settings) noArgs(stderr io.Writer) bool {
	if s.fs.NArg() == 0 {
		return true
	}
	_, _ = fmt.Fprintf(stderr, "%s: unexpected argument %q (flags take --name value; boolean flags take no value)\n", s.fs.Name(), s.fs.Arg(0))
	return false
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
		if setting, ok := mapperSettings[ce.Field]; ok {
			return nil, &config.Error{Setting: setting, Reason: err.Error()}
		}
	}
	if err != nil {
		return nil, fmt.Errorf("build mapper: %w", err)
	}
	return m, nil
}

// mapperSettings names the setting behind each mapper.Config id field.
var mapperSettings = map[string]string{
	"MchID":     "ORDERSYNC_MCHID (--mchid)",
	"SpAppID":   "ORDERSYNC_SP_APPID (--sp-appid)",
	"ChannelID": "ORDERSYNC_CHANNEL_ID (--channel-id)",
}

func cmdValidate(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	s := newSettings("validate", stderr)
	cfg, _, code, ok := s.load(args, 0, stderr)
	if !ok {
		return code
	}
	if _, err := newMapper(cfg); err != nil {
		_, _ = fmt.Fprintf(stderr, "%s: %v\n", programName, err)
		return exitUsage
	}
	prog, err := loadMapping(cfg)
	if err != nil {
		_, _ = fmt.Fprintf(stderr, "%s: %v\n", programName, err)
		return exitUsage
	}
	return runValidateMapped(s.fs.Args(), mapperConfig(cfg), prog, stdin, stdout, stderr)
}

// cmdReplay runs `worker replay`. The first signal makes it finish its
// current batch; stop then restores the default handling, so that a second
// signal ends the process at once.
func cmdReplay(ctx context.Context, stop func(), args []string, stdout, stderr io.Writer) int {
	defer context.AfterFunc(ctx, stop)()
	s := newSettings("replay", stderr)
	f := bindReplayFlags(s.fs)
	cfg, code, ok := s.loadKafka(args, stderr)
	if !ok {
		return code
	}
	defer cfg.Transport.CloseIdleConnections()
	if f.dryRun && cfg.full.Ledger && len(cfg.full.Topics) > 0 {
		guard, err := dryRunGuard(ctx, cfg.full)
		if err != nil {
			_, _ = fmt.Fprintf(stderr, "%s replay: %v\n", programName, err)
			return exitFailed
		}
		cfg.Guard = guard
	}
	return runReplay(ctx, cfg, f, stdout, stderr)
}

func cmdDLQ(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	s := newSettings("dlq", stderr)
	f := bindDLQFlags(s.fs)
	cfg, code, ok := s.loadKafka(args, stderr)
	if !ok {
		return code
	}
	return runDLQ(ctx, cfg, f, stdout, stderr)
}

// loadKafka loads the settings of a command that reads and writes Kafka
// topics but uploads nothing (replay, dlq), rejecting stray arguments.
func (s settings) loadKafka(args []string, stderr io.Writer) (replayConfig, int, bool) {
	cfg, _, code, ok := s.load(args, config.NeedKafka, stderr)
	if !ok {
		return replayConfig{}, code, false
	}
	if !s.noArgs(stderr) {
		return replayConfig{}, exitUsage, false
	}
	return replayConfig{Brokers: cfg.Brokers, DLQTopic: cfg.DLQTopic, Transport: cfg.Kafka.Transport(), full: cfg}, exitOK, true
}
