package source

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/kafka-scale/kafka-scale/pkg/census"
)

// DefaultCensusBaseURL is where the Census Bureau publishes the CPS files.
const DefaultCensusBaseURL = "https://www2.census.gov/programs-surveys/cps/datasets"

// ErrNotFound: the server has no such file. Not retried.
var ErrNotFound = errors.New("not found")

// ErrNotPublished: the site has neither file of a month (October 2025 was
// never collected; the current year's later months are not out yet). It is
// also ErrNotFound.
var ErrNotPublished = fmt.Errorf("month not published: %w", ErrNotFound)

// Retry bounds the attempts of one download.
type Retry struct {
	Attempts int           // attempts per request, including the first
	Base     time.Duration // first backoff; doubled per attempt, with jitter
	Max      time.Duration // backoff cap
	// MaxRetryAfter caps the wait a Retry-After header asks for; 0 means
	// Max. The wait is the longer of the backoff and Retry-After.
	MaxRetryAfter time.Duration
}

// Observer is told about downloads, for metrics.
type Observer interface {
	Retried(source string, reason string)
	Resumed(source string)
	Downloaded(source string, n int)
}

type nopObserver struct{}

func (nopObserver) Retried(string, string) {}
func (nopObserver) Resumed(string)         {}
func (nopObserver) Downloaded(string, int) {}

// HTTP fetches census files over HTTP.
type HTTP struct {
	Client  *http.Client
	BaseURL string
	Retry   Retry
	Log     *zap.Logger
	Observe Observer
	// UserAgent is sent with every request: the site turns away clients
	// that do not say who they are.
	UserAgent string

	sleep func(ctx context.Context, d time.Duration) error // waits between attempts; tests record the waits
}

func (h *HTTP) wait(ctx context.Context, d time.Duration) error {
	if h.sleep != nil {
		return h.sleep(ctx, d)
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// URL is the address of the basic monthly file of year/month, name one of
// census.FileName or census.ZipFileName.
func (h *HTTP) URL(year int, name string) string {
	return fmt.Sprintf("%s/%d/basic/%s", strings.TrimRight(h.BaseURL, "/"), year, name)
}

// Names are the files of year/month the site may have, the one known to
// exist first: the .zip, which it has for every month since 1994, until
// 2014 and for December 2018 (whose .dat.gz is an error page); the .dat.gz
// from 2015 on, which streams without a zip's local header.
func Names(year, month int) [2]string {
	gz, zip := census.FileName(year, month), census.ZipFileName(year, month)
	if year < 2015 || year == 2018 && month == 12 {
		return [2]string{zip, gz}
	}
	return [2]string{gz, zip}
}

// Census is the basic monthly file of year/month on the server: the first of
// Names, or the other when the site answers 404 to the first.
func (h *HTTP) Census(year, month int) *Source {
	names := Names(year, month)
	s := &Source{Name: names[0], Year: year, Month: month}
	s.open = func(ctx context.Context) (io.ReadCloser, string, error) {
		var missing []string
		for _, name := range names {
			rc, fp, err := h.open(ctx, name, h.URL(year, name))
			if err == nil {
				s.Name = name
				return rc, fp, nil
			}
			if !errors.Is(err, ErrNotFound) {
				return nil, "", err
			}
			missing = append(missing, h.URL(year, name))
		}
		return nil, "", fmt.Errorf("%d-%02d: %w: 404 for %s", year, month, ErrNotPublished, strings.Join(missing, " and "))
	}
	return s
}

func (h *HTTP) observer() Observer {
	if h.Observe == nil {
		return nopObserver{}
	}
	return h.Observe
}

// open makes the first request and returns a body that resumes by itself.
func (h *HTTP) open(ctx context.Context, name, url string) (io.ReadCloser, string, error) {
	d := &download{h: h, ctx: ctx, name: name, url: url, size: -1}
	if err := d.request(0); err != nil {
		return nil, "", err
	}
	fp := "size:" + strconv.FormatInt(d.size, 10)
	if d.etag != "" {
		fp += ",etag:" + strings.Trim(d.etag, `"`)
	} else if d.lastModified != "" {
		fp += ",modified:" + d.lastModified
	}
	return d, fp, nil
}

// download is a response body that, when the transfer breaks, asks for the
// rest with a Range request, so the caller sees one unbroken stream.
type download struct {
	h            *HTTP
	ctx          context.Context
	name, url    string
	body         io.ReadCloser
	off          int64 // bytes delivered so far
	size         int64 // total size, -1 when unknown
	etag         string
	lastModified string
	ranges       bool // server accepts byte ranges
	status       string
	contentType  string
}

// Describe names the download for errors about its content: URL, status
// and content type.
func (d *download) Describe() string {
	return fmt.Sprintf("GET %s: %s, Content-Type %q", d.url, d.status, d.contentType)
}

func (d *download) Read(p []byte) (int, error) {
	for {
		n, err := d.body.Read(p)
		d.off += int64(n)
		if n > 0 {
			d.h.observer().Downloaded(d.name, n)
		}
		if err == nil || n > 0 && !errors.Is(err, io.EOF) {
			return n, nil
		}
		if errors.Is(err, io.EOF) && (d.size < 0 || d.off >= d.size) {
			return n, io.EOF
		}
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		// The transfer broke before the end.
		if !d.ranges || d.ctx.Err() != nil {
			return n, fmt.Errorf("download %s: after %d bytes: %w", d.url, d.off, err)
		}
		d.h.Log.Warn("download interrupted, resuming", zap.String("source", d.name), zap.Int64("offset", d.off), zap.Error(err))
		d.body.Close()
		d.h.observer().Resumed(d.name)
		if rerr := d.request(d.off); rerr != nil {
			return n, rerr
		}
		if n > 0 {
			return n, nil
		}
	}
}

func (d *download) Close() error {
	if d.body == nil {
		return nil
	}
	return d.body.Close()
}

// request GETs the file from offset off, retrying network errors, 403, 429
// and 5xx answers with exponential backoff, or as long as Retry-After says
// when that is longer.
func (d *download) request(off int64) error {
	r := d.h.Retry
	if r.Attempts < 1 {
		r.Attempts = 1
	}
	var last error
	for attempt := 1; attempt <= r.Attempts; attempt++ {
		if attempt > 1 {
			wait := backoff(r, attempt-1)
			var se *statusError
			if errors.As(last, &se) && se.retryAfter > wait {
				wait = se.retryAfter
				if limit := cmp.Or(r.MaxRetryAfter, r.Max); limit > 0 && wait > limit {
					wait = limit
				}
			}
			d.h.Log.Warn("download failed, retrying", zap.String("source", d.name), zap.String("url", d.url),
				zap.Int("attempt", attempt), zap.Duration("backoff", wait), zap.Error(last))
			if err := d.h.wait(d.ctx, wait); err != nil {
				return fmt.Errorf("download %s: %w (last error: %v)", d.url, err, last)
			}
		}
		retry, err := d.try(off)
		if err == nil {
			return nil
		}
		last = err
		if !retry {
			return err
		}
		reason := "network"
		var se *statusError
		if errors.As(err, &se) {
			reason = strconv.Itoa(se.code)
		}
		d.h.observer().Retried(d.name, reason)
	}
	return fmt.Errorf("download %s: giving up after %d attempts: %w", d.url, r.Attempts, last)
}

type statusError struct {
	url        string
	code       int
	status     string
	retryAfter time.Duration // what the server's Retry-After asked for
}

func (e *statusError) Error() string { return fmt.Sprintf("GET %s: %s", e.url, e.status) }

// try makes one request. It reports whether a failure is worth retrying.
func (d *download) try(off int64) (retry bool, err error) {
	req, err := http.NewRequestWithContext(d.ctx, http.MethodGet, d.url, nil)
	if err != nil {
		return false, fmt.Errorf("download %s: %w", d.url, err)
	}
	// Ask for the bytes as stored: the gzip stream is what we decompress.
	req.Header.Set("Accept-Encoding", "identity")
	if d.h.UserAgent != "" {
		req.Header.Set("User-Agent", d.h.UserAgent)
	}
	if off > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", off))
		if d.etag != "" {
			req.Header.Set("If-Range", d.etag)
		} else if d.lastModified != "" {
			req.Header.Set("If-Range", d.lastModified)
		}
	}
	resp, err := d.h.Client.Do(req)
	if err != nil {
		return d.ctx.Err() == nil, fmt.Errorf("download %s: %w", d.url, err)
	}
	switch {
	case off == 0 && resp.StatusCode == http.StatusOK:
		d.status, d.contentType = resp.Status, resp.Header.Get("Content-Type")
		d.size = resp.ContentLength
		d.etag = resp.Header.Get("ETag")
		d.lastModified = resp.Header.Get("Last-Modified")
		d.ranges = resp.Header.Get("Accept-Ranges") == "bytes"
		d.body = resp.Body
		return false, nil
	case off > 0 && resp.StatusCode == http.StatusPartialContent:
		start, ok := contentRangeStart(resp.Header.Get("Content-Range"))
		if !ok || start != off {
			resp.Body.Close()
			return false, fmt.Errorf("download %s: resume at byte %d: server answered range %q", d.url, off, resp.Header.Get("Content-Range"))
		}
		d.body = resp.Body
		return false, nil
	case off > 0 && resp.StatusCode == http.StatusOK:
		// The file changed (If-Range failed) or ranges are not served:
		// continuing would splice two different files.
		resp.Body.Close()
		return false, fmt.Errorf("download %s: resume at byte %d: server sent the whole file again (changed since the first request?)", d.url, off)
	case resp.StatusCode == http.StatusNotFound:
		resp.Body.Close()
		return false, fmt.Errorf("download %s: %w (%s)", d.url, ErrNotFound, resp.Status)
	default:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		se := &statusError{url: d.url, code: resp.StatusCode, status: resp.Status, retryAfter: retryAfter(resp.Header.Get("Retry-After"), time.Now())}
		// 403 and 429 are how the site turns away bursts and clients it
		// takes for bots; they pass.
		return resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusForbidden, se
	}
}

// retryAfter reads a Retry-After header, in seconds or as an HTTP date; 0
// when absent or unreadable.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

func contentRangeStart(v string) (int64, bool) {
	// "bytes 100-199/200"
	v, ok := strings.CutPrefix(v, "bytes ")
	if !ok {
		return 0, false
	}
	first, _, ok := strings.Cut(v, "-")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(first, 10, 64)
	return n, err == nil
}

// backoff is the wait before retry n (from 1): Base*2^(n-1), capped at Max,
// with up to 50% jitter so that replicas do not retry in step.
func backoff(r Retry, n int) time.Duration {
	d := r.Base << (n - 1)
	if d <= 0 || (r.Max > 0 && d > r.Max) {
		d = r.Max
	}
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}
