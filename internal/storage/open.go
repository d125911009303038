package storage

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"gocloud.dev/blob"
	"gocloud.dev/blob/fileblob"
	"gocloud.dev/blob/gcsblob"
	"gocloud.dev/blob/s3blob"
	"gocloud.dev/gcp"
	"golang.org/x/oauth2/google"
	"google.golang.org/api/option"
)

// Options are what opening a bucket may need besides its name.
type Options struct {
	// GCSCredentialsFile is a service-account key (JSON); without it, gs:// uses the
	// environment's default credentials (workload identity, gcloud).
	GCSCredentialsFile string
	// S3CredentialsFile is Prow's S3 credentials JSON (region, endpoint, access_key, secret_key,
	// insecure, s3_force_path_style); without it, s3:// uses the AWS SDK's default chain.
	S3CredentialsFile string
	// GCSEndpoint overrides the GCS JSON API's endpoint, for emulators; STORAGE_EMULATOR_HOST
	// does the same, as for every Google client.
	GCSEndpoint string
}

// s3Credentials is Prow's S3 credentials file.
type s3Credentials struct {
	Region           string `json:"region"`
	Endpoint         string `json:"endpoint"`
	Insecure         bool   `json:"insecure"`
	S3ForcePathStyle bool   `json:"s3_force_path_style"`
	AccessKey        string `json:"access_key"`
	SecretKey        string `json:"secret_key"`
}

// Open opens a bucket named gs://name, s3://name, file:///dir or a bare GCS name, through
// gocloud.dev/blob. A file:// bucket holds plain files (no attribute files beside them), so that
// it has exactly Prow's layout; its directory is created when missing.
func Open(ctx context.Context, bucket string, o Options) (*blob.Bucket, error) {
	b, err := ParseBucket(bucket)
	if err != nil {
		return nil, err
	}
	switch b.Provider {
	case "file":
		return fileblob.OpenBucket(b.Name, &fileblob.Options{CreateDir: true, NoTempDir: true, Metadata: fileblob.MetadataDontWrite})
	case "gs":
		return openGCS(ctx, b.Name, o)
	case "s3":
		return openS3(ctx, b.Name, o)
	}
	return nil, fmt.Errorf("bucket %q: unsupported storage %q", bucket, b.Provider)
}

func openGCS(ctx context.Context, name string, o Options) (*blob.Bucket, error) {
	var client *gcp.HTTPClient
	switch {
	case o.GCSCredentialsFile != "":
		data, err := os.ReadFile(o.GCSCredentialsFile)
		if err != nil {
			return nil, fmt.Errorf("read GCS credentials: %w", err)
		}
		creds, err := google.CredentialsFromJSONWithType(ctx, data, google.ServiceAccount, "https://www.googleapis.com/auth/devstorage.read_write")
		if err != nil {
			return nil, fmt.Errorf("GCS credentials %s: %w", o.GCSCredentialsFile, err)
		}
		if client, err = gcp.NewHTTPClient(gcp.DefaultTransport(), creds.TokenSource); err != nil {
			return nil, err
		}
	case o.GCSEndpoint != "" || os.Getenv("STORAGE_EMULATOR_HOST") != "":
		client = &gcp.HTTPClient{Client: http.Client{Transport: gcp.DefaultTransport()}}
	default:
		creds, err := gcp.DefaultCredentials(ctx)
		if err != nil {
			return nil, fmt.Errorf("no GCS credentials file and no default credentials: %w", err)
		}
		if client, err = gcp.NewHTTPClient(gcp.DefaultTransport(), gcp.CredentialsTokenSource(creds)); err != nil {
			return nil, err
		}
	}
	opts := &gcsblob.Options{}
	if o.GCSEndpoint != "" {
		opts.ClientOptions = []option.ClientOption{option.WithEndpoint(o.GCSEndpoint)}
	}
	return gcsblob.OpenBucket(ctx, client, name, opts)
}

func openS3(ctx context.Context, name string, o Options) (*blob.Bucket, error) {
	if o.S3CredentialsFile == "" {
		cfg, err := awsconfig.LoadDefaultConfig(ctx)
		if err != nil {
			return nil, fmt.Errorf("no S3 credentials file and no default AWS config: %w", err)
		}
		return s3blob.OpenBucket(ctx, s3.NewFromConfig(cfg), name, nil)
	}
	data, err := os.ReadFile(o.S3CredentialsFile)
	if err != nil {
		return nil, fmt.Errorf("read S3 credentials: %w", err)
	}
	var c s3Credentials
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("S3 credentials %s: %w", o.S3CredentialsFile, err)
	}
	if c.Region == "" {
		c.Region = "us-east-1"
	}
	cfg := aws.Config{Region: c.Region, Credentials: credentials.NewStaticCredentialsProvider(c.AccessKey, c.SecretKey, "")}
	client := s3.NewFromConfig(cfg, func(so *s3.Options) {
		if c.Endpoint != "" {
			scheme := "https://"
			if c.Insecure {
				scheme = "http://"
			}
			so.BaseEndpoint = aws.String(scheme + c.Endpoint)
		}
		so.UsePathStyle = c.S3ForcePathStyle
	})
	return s3blob.OpenBucket(ctx, client, name, nil)
}
