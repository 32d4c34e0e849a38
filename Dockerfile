# leadq as a container: a static binary on a distroless base, as a non-root
# user, with no shell. Build:
#   docker build --build-arg VERSION=$(git describe --tags --always) \
#     --build-arg REVISION=$(git rev-parse HEAD) -t leadq .
# Run (rules from a directory, decisions to PostgreSQL):
#   docker run -p 8080:8080 -v $PWD/examples/rulesets:/etc/leadq/rules:ro leadq \
#     serve --rules /etc/leadq/rules --addr :8080 --log-db postgres://...
# deploy/kubernetes/ runs three replicas of it.

FROM golang:1.26.8-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=devel
ARG REVISION=unknown
# CGO off: the SQLite driver is pure Go, so the binary is static and needs
# no libc in the image.
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X main.linkedVersion=${VERSION} -X main.linkedRevision=${REVISION}" \
      -o /out/leadq ./cmd/leadq \
 && /out/leadq version

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/leadq /usr/local/bin/leadq
# The example rules, so that the image serves something on its own; mount
# your rules over /etc/leadq/rules (a ConfigMap in deploy/kubernetes/).
COPY examples/rulesets /etc/leadq/rules
USER nonroot:nonroot
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/leadq"]
CMD ["serve", "--rules", "/etc/leadq/rules", "--addr", ":8080"]
