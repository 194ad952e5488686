// Command demo is the program `make demo` traces: a small HTTP service on
// loopback with a client driving it, so a capture shows the usual causes of
// waiting side by side.  Each request runs under pprof labels
// {endpoint, tenant}; /slow sleeps like a database call, /lock contends on
// one mutex, /fanout waits for a pool of workers over channels.
// It prints "ready PID" and runs until SIGTERM or SIGINT.
package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/pprof"
	"sync"
	"syscall"
	"time"
)

var (
	mu    sync.Mutex
	count int
	jobs  = make(chan chan int)
)

func worker() {
	for reply := range jobs {
		time.Sleep(2 * time.Millisecond)
		reply <- 1
	}
}

func labeled(endpoint string, h func(w http.ResponseWriter, r *http.Request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tenant := r.URL.Query().Get("tenant")
		pprof.Do(r.Context(), pprof.Labels("endpoint", endpoint, "tenant", tenant), func(context.Context) {
			h(w, r)
		})
	}
}

func slow(w http.ResponseWriter, r *http.Request) {
	time.Sleep(5 * time.Millisecond)
	fmt.Fprintln(w, "slow")
}

func lock(w http.ResponseWriter, r *http.Request) {
	mu.Lock()
	time.Sleep(500 * time.Microsecond)
	count++
	mu.Unlock()
	fmt.Fprintln(w, "lock")
}

func fanout(w http.ResponseWriter, r *http.Request) {
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			reply := make(chan int)
			jobs <- reply
			<-reply
		}()
	}
	wg.Wait()
	fmt.Fprintln(w, "fanout")
}

func client(base string, path string, tenant string, stop <-chan struct{}) {
	c := &http.Client{Timeout: 5 * time.Second}
	for {
		select {
		case <-stop:
			return
		default:
		}
		resp, err := c.Get(base + path + "?tenant=" + tenant)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		time.Sleep(time.Millisecond)
	}
}

func main() {
	for i := 0; i < 4; i++ {
		go worker()
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/slow", labeled("/slow", slow))
	mux.HandleFunc("/lock", labeled("/lock", lock))
	mux.HandleFunc("/fanout", labeled("/fanout", fanout))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	go http.Serve(ln, mux)
	base := "http://" + ln.Addr().String()
	stop := make(chan struct{})
	for _, t := range []string{"acme", "globex"} {
		for _, p := range []string{"/slow", "/lock", "/lock", "/fanout"} {
			go client(base, p, t, stop)
		}
	}
	fmt.Printf("ready %d\n", os.Getpid())
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	close(stop)
}
