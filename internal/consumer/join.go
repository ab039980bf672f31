package consumer

import (
	"errors"
	"fmt"
	"time"

	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"
)

// Join refusals that retrying cannot cure: Run returns them.
var (
	// ErrAuthentication means the brokers refused the SASL credentials or
	// mechanism, or the user may not use the group or read the topics.
	ErrAuthentication = errors.New("the brokers refused the credentials")
	// ErrSessionTimeout means the session timeout is outside the range the
	// broker allows (group.min/max.session.timeout.ms).
	ErrSessionTimeout = errors.New("the broker refused the session timeout")
)

// joinFatal returns err wrapped in ErrAuthentication or ErrSessionTimeout
// when it is a refusal of that kind, else nil: the join is retried.
func joinFatal(err error) error {
	switch {
	case errors.Is(err, kafka.SASLAuthenticationFailed), errors.Is(err, kafka.UnsupportedSASLMechanism),
		errors.Is(err, kafka.IllegalSASLState), errors.Is(err, kafka.GroupAuthorizationFailed),
		errors.Is(err, kafka.TopicAuthorizationFailed):
		return fmt.Errorf("%w: %w", ErrAuthentication, err)
	case errors.Is(err, kafka.InvalidSessionTimeout):
		return fmt.Errorf("%w: %w", ErrSessionTimeout, err)
	}
	return nil
}

// Bounds of the spacing of join-failure warn lines.
const (
	joinReportMin = time.Second
	joinReportMax = time.Minute
)

// joinReport spaces the warn lines of a run of failed joins: the first at
// once, then after 1s, 2s, 4s… up to a minute, each with the failures since
// the last line. kafka-go retries the join itself every second.
type joinReport struct {
	failures, unreported int
	next                 time.Time
	interval             time.Duration
}

func (r *joinReport) failed(log zerolog.Logger, group string, err error) {
	r.failures++
	r.unreported++
	now := time.Now()
	if now.Before(r.next) {
		return
	}
	r.interval = min(max(2*r.interval, joinReportMin), joinReportMax)
	r.next = now.Add(r.interval)
	log.Warn().Err(err).Str("group", group).Int("failures", r.failures).Int("since_last_report", r.unreported).
		Dur("next_report_in", r.interval).Msg("joining the consumer group failed; retrying")
	r.unreported = 0
}

// setJoined records whether the consumer is a member of a generation now.
func (c *Consumer) setJoined(joined bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.joined != joined || c.joinedAt.IsZero() {
		c.joined, c.joinedAt = joined, time.Now()
	}
}

// Joined reports whether the consumer is a member of a group generation now,
// and since when it has been (or has not been).
func (c *Consumer) Joined() (joined bool, since time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.joined, c.joinedAt
}
