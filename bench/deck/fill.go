package deck

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"golang.org/x/sync/errgroup"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/uuid"
	"sigs.k8s.io/controller-runtime/pkg/client"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/jobs"
)

// Creating 50,000 ProwJobs through the API server (a create and a status update each, every one
// decoded, validated against the CRD's schema and its CEL rules, and admitted) takes longer than
// the whole measurement on a shared machine. So the benchmark writes them into etcd itself, in the
// form the API server stores a custom resource: its JSON under
// /registry/<group>/<resource>/<namespace>/<name>. The API server's watch of etcd picks them up,
// and Deck's informer lists and watches them from the API server exactly as in production; only
// the writing skips admission. One probe job is created through the API first, to check that
// layout, and the live measurement changes jobs through the API.
const storagePrefix = "/registry/prow.k8s.io/prowjobs/"

// etcdBatch bounds one transaction: etcd takes at most 128 operations and 1.5 MiB per request.
const (
	etcdBatchOps   = 100
	etcdBatchBytes = 1 << 20
)

// etcdGateway is etcd's JSON gateway (/v3/kv/...), so the benchmark needs no etcd client.
type etcdGateway struct {
	url string
	hc  *http.Client
}

func (g etcdGateway) call(ctx context.Context, path string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.url+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	resp, err := g.hc.Do(req)
	if err != nil {
		return fmt.Errorf("etcd %s: %w", path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("etcd %s: %s: %s", path, resp.Status, raw)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(raw, out)
}

type etcdPut struct {
	RequestPut struct {
		Key   string `json:"key"`
		Value string `json:"value"`
	} `json:"requestPut"`
}

// probe creates one ProwJob through the API server and checks that etcd holds it where fill
// will write the others.
func (g etcdGateway) probe(ctx context.Context, c client.Client, pj *prowv1.ProwJob) error {
	if err := jobs.Create(ctx, c, pj); err != nil {
		return fmt.Errorf("create the probe ProwJob: %w", err)
	}
	var got struct {
		Kvs []struct{ Value string } `json:"kvs"`
	}
	key := storagePrefix + pj.Namespace + "/" + pj.Name
	if err := g.call(ctx, "/v3/kv/range", map[string]string{"key": base64.StdEncoding.EncodeToString([]byte(key))}, &got); err != nil {
		return err
	}
	if len(got.Kvs) != 1 {
		return fmt.Errorf("the API server did not store ProwJob %s at %s in etcd: the storage layout differs", pj.Name, key)
	}
	return nil
}

// fill writes the ProwJobs, status included, into etcd as the API server stores them, in
// transactions of up to etcdBatchOps puts, four at a time; the first failure stops the rest.
func (g etcdGateway) fill(ctx context.Context, pjs []*prowv1.ProwJob, created time.Time) error {
	eg, ctx := errgroup.WithContext(ctx)
	eg.SetLimit(4)
	err := g.batch(ctx, pjs, created, func(b []etcdPut) {
		eg.Go(func() error { return g.call(ctx, "/v3/kv/txn", map[string]any{"success": b}, nil) })
	})
	if werr := eg.Wait(); werr != nil {
		return werr
	}
	return err
}

// batch encodes the ProwJobs into puts and sends them in batches, until ctx ends.
func (g etcdGateway) batch(ctx context.Context, pjs []*prowv1.ProwJob, created time.Time, send func([]etcdPut)) error {
	var b []etcdPut
	size := 0
	for _, pj := range pjs {
		obj := pj.DeepCopy()
		obj.APIVersion, obj.Kind = prowv1.SchemeGroupVersion.String(), "ProwJob"
		obj.UID, obj.Generation, obj.ResourceVersion = uuid.NewUUID(), 1, ""
		obj.CreationTimestamp = metav1.NewTime(created)
		raw, err := json.Marshal(obj)
		if err != nil {
			return fmt.Errorf("encode %s: %w", obj.Name, err)
		}
		if len(b) == etcdBatchOps || size+len(raw) > etcdBatchBytes {
			if err := ctx.Err(); err != nil {
				return err
			}
			send(b)
			b, size = nil, 0
		}
		var p etcdPut
		p.RequestPut.Key = base64.StdEncoding.EncodeToString([]byte(storagePrefix + obj.Namespace + "/" + obj.Name))
		p.RequestPut.Value = base64.StdEncoding.EncodeToString(raw)
		b = append(b, p)
		size += len(raw)
	}
	if len(b) > 0 {
		send(b)
	}
	return nil
}
