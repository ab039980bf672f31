package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/ordersync/ordersync/internal/dlq"
	"github.com/ordersync/ordersync/internal/sample"
	"github.com/ordersync/ordersync/internal/sandbox"
	"github.com/ordersync/ordersync/internal/stack"
)

// The demo's merchant registry (README "Serving many restaurants"): a
// service provider's account reports its directly connected restaurants, a
// channel partner's account an indirect one, which the first registry file
// wrongly lists under the service provider.
const (
	spAccount        = "sp-east"
	channelAccount   = "bank-channel"
	channelMchID     = "1230000200"
	misfiledSubMchID = "1900000201"
	// misfiledEvery: one order in misfiledEvery belongs to the mis-filed
	// sub-merchant.
	misfiledEvery = 6
)

// registry is the demo's ORDERSYNC_MERCHANTS_FILE and the accounts it names.
type registry struct {
	path    string
	sp, ch  *sandbox.Credentials
	spAppID string
}

// newChannelAccount generates the channel partner's keys in dir and returns
// the sandbox's accounts and bindings: the sample sub-merchant is bound to
// the service provider, the mis-filed one to the channel partner.
func newChannelAccount(dir string) (*sandbox.Credentials, []sandbox.Account, []sandbox.Binding, error) {
	ch, err := sandbox.GenerateAccount(filepath.Join(dir, channelAccount), channelMchID)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("channel account: %w", err)
	}
	return ch, []sandbox.Account{{Credentials: ch}}, []sandbox.Binding{
		{SubMchID: sample.SubMchID, MchID: sandbox.DefaultMchID, Mode: "service_provider"},
		{SubMchID: misfiledSubMchID, MchID: channelMchID, Mode: "channel"},
	}, nil
}

// write writes the registry with the mis-filed sub-merchant under account.
func (r registry) write(account string) error {
	doc := fmt.Sprintf(`accounts:
  %s:
    mode: service_provider
    mchid: %q
    cert_serial: %s
    private_key_file: %s
    wechatpay_public_key_file: %s
    wechatpay_public_key_id: %s
    sp_appid: %s
  %s:
    mode: channel
    mchid: %q
    cert_serial: %s
    private_key_file: %s
    wechatpay_cert_file: %s
default_account: %s
merchants:
  %q: %s
  %q: %s
`, spAccount, r.sp.MchID, r.sp.MchCertSerial, r.sp.MchPrivateKeyFile, r.sp.WechatPayPublicKeyFile, r.sp.WechatPayPublicKeyID, r.spAppID,
		channelAccount, r.ch.MchID, r.ch.MchCertSerial, r.ch.MchPrivateKeyFile, r.ch.PlatformCertFile,
		spAccount, sample.SubMchID, spAccount, misfiledSubMchID, account)
	// Write and rename, so that the worker's file watcher never reads half a file.
	tmp := r.path + ".tmp"
	if err := os.WriteFile(tmp, []byte(doc), 0o600); err != nil {
		return fmt.Errorf("write the merchant registry: %w", err)
	}
	if err := os.Rename(tmp, r.path); err != nil {
		return fmt.Errorf("write the merchant registry: %w", err)
	}
	return nil
}

// env is the worker environment of the registry: the stack's
// single-account settings emptied (both at once is a usage error).
func (r registry) env(st *stack.Stack, extra ...string) []string {
	return st.WorkerEnv(append([]string{"ORDERSYNC_MCHID=", "ORDERSYNC_MCH_CERT_SERIAL=", "ORDERSYNC_MCH_PRIVATE_KEY_FILE=",
		"ORDERSYNC_WECHATPAY_PUBLIC_KEY_FILE=", "ORDERSYNC_WECHATPAY_PUBLIC_KEY_ID=", "ORDERSYNC_SP_APPID=",
		"ORDERSYNC_MERCHANTS_FILE=" + r.path}, extra...)...)
}

// misfile moves one order in misfiledEvery of the sample sub-merchant to the
// mis-filed one (the ids have the same length, so the events stay valid in
// every shape) and returns how many of the moved events are to be
// delivered.
func misfile(events []sample.Event) int {
	from, to := []byte(`"`+sample.SubMchID+`"`), []byte(`"`+misfiledSubMchID+`"`)
	orders := map[string]int{}
	moved := 0
	for i, e := range events {
		n, seen := orders[e.OrderNo]
		if !seen {
			n = len(orders)
			orders[e.OrderNo] = n
		}
		if n%misfiledEvery != misfiledEvery-1 || !bytes.Contains(e.Value, from) {
			continue
		}
		events[i].Value = bytes.ReplaceAll(e.Value, from, to)
		if e.Expect == sample.ExpectDelivered {
			moved++
		}
	}
	return moved
}

// heldLine returns the worker's log line that holds the mis-filed
// sub-merchant, "" before there is one.
func heldLine(logPath string) string {
	b, err := os.ReadFile(logPath)
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.Contains(line, `"sub_mchid":"`+misfiledSubMchID+`"`) && strings.Contains(line, "sub-merchant held") {
			return line
		}
	}
	return ""
}

// replayMerchant runs `worker replay --merchant` for the mis-filed
// sub-merchant's rejected dead letters and prints the gist of its output.
func replayMerchant(ctx context.Context, out io.Writer, workerBin string, env []string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	args := []string{"replay", "--merchant", misfiledSubMchID, "--class", "rejected"}
	fmt.Fprintf(out, "\n$ worker %s\n", strings.Join(args, " "))
	cmd := exec.CommandContext(ctx, workerBin, args...)
	cmd.Env = env
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	err := cmd.Run()
	// One line per republished record, then the totals: the first and the totals.
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) > 2 && err == nil {
		fmt.Fprintf(out, "%s\n  … (%d more lines, one per record)\n", lines[0], len(lines)-2)
		lines = lines[len(lines)-1:]
	}
	fmt.Fprintln(out, strings.Join(lines, "\n"))
	if err != nil {
		return fmt.Errorf("worker replay: %w", err)
	}
	return nil
}

// byAccount counts the uploads the sandbox accepted per sub-merchant and
// the way each was reported (sp_mchid or channel_id): the sandbox accepts
// a bound sub-merchant only when signed by its own account in its mode.
func byAccount(recs []sandbox.Record) map[string]int {
	n := map[string]int{}
	for _, r := range recs {
		var ids struct {
			SpMchID   string `json:"sp_mchid"`
			ChannelID string `json:"channel_id"`
		}
		_ = json.Unmarshal(r.Body, &ids) // the sandbox validated it
		how := "sp_mchid " + ids.SpMchID
		if ids.ChannelID != "" {
			how = "channel_id " + ids.ChannelID
		}
		n[r.SubMchID+" via "+how]++
	}
	return n
}

// showHeld prints how the mis-filed sub-merchant's events were
// dead-lettered, rejected by the API until it was held and then without a
// call, and the worker's log line that held it.
func showHeld(out io.Writer, dead []kafka.Message, logPath string) error {
	var called, held int
	for _, m := range dead {
		h := headers(m)
		if h[dlq.HeaderSubMchID] != misfiledSubMchID || h[dlq.HeaderErrorClass] != dlq.ClassRejected {
			continue
		}
		if h[dlq.HeaderMerchantHeld] == "true" {
			held++
		} else {
			called++
		}
	}
	fmt.Fprintf(out, "\nsub-merchant %s (account %s): %d dead letters answered by the API (400 INVALID_REQUEST, detail.field sub_mchid), then %d held without a call (%s: true)\n",
		misfiledSubMchID, spAccount, called, held, dlq.HeaderMerchantHeld)
	if held == 0 {
		return fmt.Errorf("no dead letter of the mis-filed sub-merchant %s carries %s", misfiledSubMchID, dlq.HeaderMerchantHeld)
	}
	// The worker's log reaches its file through a pipe: a bounded wait.
	for try := 0; ; try++ {
		if line := heldLine(logPath); line != "" {
			fmt.Fprintf(out, "  worker log: %s\n", line)
			return nil
		}
		if try == 100 {
			return fmt.Errorf("no log line holds the sub-merchant %s", misfiledSubMchID)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// fixAndReplay files the mis-filed sub-merchant under its own account,
// has the worker reload the registry (SIGHUP), waits for the reload to
// release it, and replays its rejected dead letters.
func fixAndReplay(ctx context.Context, out io.Writer, o options, st *stack.Stack, reg registry, w *stack.Worker, moved int) error {
	fmt.Fprintf(out, "\nfixing the registry: %s → %s in %s, then SIGHUP\n", misfiledSubMchID, channelAccount, reg.path)
	if err := reg.write(channelAccount); err != nil {
		return err
	}
	if err := w.Signal(syscall.SIGHUP); err != nil {
		return fmt.Errorf("SIGHUP: %w", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		m, err := w.Metrics(ctx)
		if err == nil && m["ordersync_registry_reloads_total{result=ok}"] >= 1 && m["ordersync_merchants_held"] == 0 {
			fmt.Fprintf(out, "  registry reloaded (ordersync_registry_reloads_total{result=\"ok\"} %.0f), ordersync_merchants_held 0\n",
				m["ordersync_registry_reloads_total{result=ok}"])
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the worker did not reload the registry and release the held sub-merchants within 30s")
		}
		select {
		case <-ctx.Done():
			return errors.New("interrupted")
		case <-w.Exited():
			return errors.New("the worker exited on SIGHUP")
		case <-time.After(200 * time.Millisecond):
		}
	}
	if err := replayMerchant(ctx, out, o.worker, reg.env(st, "ORDERSYNC_LOG_LEVEL=warn")); err != nil {
		return err
	}
	fmt.Fprintf(out, "\nprogress of the %d replayed events:\n", moved)
	return nil
}

// checkAccounts prints the uploads the sandbox accepted per sub-merchant
// and account and checks that every delivered event of the mis-filed
// sub-merchant went through the channel partner's account.
func checkAccounts(out io.Writer, st *stack.Stack, moved int) error {
	n := byAccount(st.Sandbox.Records())
	fmt.Fprintln(out, "  accepted by the sandbox, per sub-merchant and account:")
	for _, k := range slices.Sorted(maps.Keys(n)) {
		fmt.Fprintf(out, "      %4d  %s\n", n[k], k)
	}
	if got := n[misfiledSubMchID+" via channel_id "+channelMchID]; got != moved {
		return fmt.Errorf("the sandbox accepted %d events of %s through %s, expected %d", got, misfiledSubMchID, channelAccount, moved)
	}
	fmt.Fprintf(out, "  all %d events of %s delivered through %s after the fix\n", moved, misfiledSubMchID, channelAccount)
	return nil
}
