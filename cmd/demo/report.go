package main

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"time"

	"github.com/ordersync/ordersync/internal/stack"
)

// printReport ends the demo with `worker report`: per sub-merchant and day,
// the orders WeChat Pay holds as CREATE_DEAL and PAY_SUCCESS, the amount
// paid and the dead letters by class, read from the delivery ledger.
func printReport(ctx context.Context, out io.Writer, workerBin string, st *stack.Stack) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	fmt.Fprintf(out, "\n$ worker report   (the delivery ledger %s.ledger and the dead-letter topic, per sub-merchant and day in Asia/Shanghai)\n", st.Topic)
	cmd := exec.CommandContext(ctx, workerBin, "report")
	cmd.Env = st.WorkerEnv("ORDERSYNC_LOG_LEVEL=warn")
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("worker report: %w", err)
	}
	return nil
}
