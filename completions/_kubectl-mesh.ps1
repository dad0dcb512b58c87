
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'kubectl-mesh' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'kubectl-mesh'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'kubectl-mesh' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('expose', 'expose', [CompletionResultType]::ParameterValue, 'Deploy the east-west gateway to one or many clusters, or print it (--generate)')
            [CompletionResult]::new('link', 'link', [CompletionResultType]::ParameterValue, 'Link every cluster with every other (peer Gateways), or some pairs')
            [CompletionResult]::new('certs', 'certs', [CompletionResultType]::ParameterValue, 'Create the shared root of trust and per-cluster intermediates, and install them')
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Check that the mesh is consistent: trust, gateways, links, traffic (exit 0 healthy, 1 failed, 3 warnings with --strict)')
            [CompletionResult]::new('up', 'up', [CompletionResultType]::ParameterValue, 'Converge every cluster of a topology file: certs, install, expose, link, verify')
            [CompletionResult]::new('down', 'down', [CompletionResultType]::ParameterValue, 'Remove everything `up` created for a topology file (keys on disk are kept)')
            [CompletionResult]::new('controller', 'controller', [CompletionResultType]::ParameterValue, 'Keep the mesh converged: watch the members, re-link what changes, refresh tokens (leader-elected)')
            [CompletionResult]::new('version', 'version', [CompletionResultType]::ParameterValue, 'Print the version and git commit')
            [CompletionResult]::new('completion', 'completion', [CompletionResultType]::ParameterValue, 'Print the shell completion script of kubectl-mesh (bash, zsh, fish, powershell)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'kubectl-mesh;expose' {
            [CompletionResult]::new('--flavor', '--flavor', [CompletionResultType]::ParameterName, 'Gateway flavour')
            [CompletionResult]::new('--network', '--network', [CompletionResultType]::ParameterName, 'Network of the cluster(s) [default: the topology.istio.io/network label of istio-system]')
            [CompletionResult]::new('--wait', '--wait', [CompletionResultType]::ParameterName, 'Wait until the gateway has an address (and is Programmed); `--wait` alone waits 5m')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Name of the gateway [default: istio-eastwest; istio-eastwestgateway for ambient and sidecar]')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Namespace of the gateway [default: istio-gateways; istio-system for ambient and sidecar]')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'Namespace of the gateway [default: istio-gateways; istio-system for ambient and sidecar]')
            [CompletionResult]::new('--gateway-class', '--gateway-class', [CompletionResultType]::ParameterName, 'GatewayClass of the gateway [default: istio-eastwest; istio-east-west for ambient]')
            [CompletionResult]::new('--service', '--service', [CompletionResultType]::ParameterName, 'Make this Service global in every listed cluster instead of deploying the gateway (label solo.io/service-scope for ambient-peering, istio.io/global for ambient; sidecar needs none)')
            [CompletionResult]::new('--scope', '--scope', [CompletionResultType]::ParameterName, 'With --service: global or global-only (ambient-peering only). Clients reach it as <name>.<ns>.mesh.internal with ambient-peering, as <name>.<ns>.svc.cluster.local with upstream ambient')
            [CompletionResult]::new('--traffic-distribution', '--traffic-distribution', [CompletionResultType]::ParameterName, 'With --service: how traffic spreads over clusters')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Report format (for --generate: yaml, or json for a v1 List)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Report format (for --generate: yaml, or json for a v1 List)')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path to the kubeconfig file [default: $KUBECONFIG (a '':''-separated list, merged), else ~/.kube/config]')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'The kubeconfig context of the one cluster to use [default: the current context]')
            [CompletionResult]::new('--contexts', '--contexts', [CompletionResultType]::ParameterName, 'Several clusters, as contexts; `name=context` names a cluster differently from its context')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Timeout of each API call')
            [CompletionResult]::new('--parallel', '--parallel', [CompletionResultType]::ParameterName, 'How many clusters to work on at once')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Only show what would change: "client" sends no writes, "server" sends them with dryRun=All')
            [CompletionResult]::new('--field-manager', '--field-manager', [CompletionResultType]::ParameterName, 'Field manager name for server-side apply')
            [CompletionResult]::new('--generate', '--generate', [CompletionResultType]::ParameterName, 'Print the objects as YAML instead of applying them (offline when --network is given; the cluster label then comes from --context / --contexts NAME=CONTEXT, else is left out)')
            [CompletionResult]::new('--expose-istiod', '--expose-istiod', [CompletionResultType]::ParameterName, 'Sidecar flavour: also expose istiod through the gateway (for primary-remote)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log what is done to stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log what is done to stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--force-conflicts', '--force-conflicts', [CompletionResultType]::ParameterName, 'Take over fields that another field manager owns (server-side apply conflicts)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'kubectl-mesh;link' {
            [CompletionResult]::new('--mode', '--mode', [CompletionResultType]::ParameterName, 'How clusters are linked [default: peering for flavour ambient-peering, else remote-secret]')
            [CompletionResult]::new('--flavor', '--flavor', [CompletionResultType]::ParameterName, 'Mesh flavour (chooses the default --mode)')
            [CompletionResult]::new('--primary', '--primary', [CompletionResultType]::ParameterName, 'Primary-remote: the cluster running the control plane (remote-secret mode)')
            [CompletionResult]::new('--remotes', '--remotes', [CompletionResultType]::ParameterName, 'Primary-remote: the clusters whose control plane is --primary')
            [CompletionResult]::new('--token-duration', '--token-duration', [CompletionResultType]::ParameterName, 'Remote-secret mode: a bounded token (TokenRequest) instead of a long-lived token Secret')
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'Remote-secret mode: the API server address written into the kubeconfig (one target only; needed when the kubeconfig''s is a loopback address such as kind''s 127.0.0.1)')
            [CompletionResult]::new('--from', '--from', [CompletionResultType]::ParameterName, 'Source cluster of a one-direction link ([NAME=]CONTEXT)')
            [CompletionResult]::new('--to', '--to', [CompletionResultType]::ParameterName, 'Target cluster(s) of a one-direction link ([NAME=]CONTEXT,...)')
            [CompletionResult]::new('--topology', '--topology', [CompletionResultType]::ParameterName, 'Which clusters link with which [default: hub-and-spoke with --hub, groups with --group, pairs with --pairs, else full-mesh]')
            [CompletionResult]::new('--hub', '--hub', [CompletionResultType]::ParameterName, 'Hub-and-spoke: a hub cluster, linked both ways with every other; spokes link only with hubs (repeatable)')
            [CompletionResult]::new('--pairs', '--pairs', [CompletionResultType]::ParameterName, 'Links both ways between A and B; with --group, A and B may be groups: every member of one with every member of the other')
            [CompletionResult]::new('--group', '--group', [CompletionResultType]::ParameterName, 'Groups: a group of clusters linked in a full mesh; groups link through --pairs (repeatable)')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Namespace of the east-west gateway and of the peer Gateways')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'Namespace of the east-west gateway and of the peer Gateways')
            [CompletionResult]::new('--gateway', '--gateway', [CompletionResultType]::ParameterName, 'Name of the east-west gateway in every cluster (peers name its ServiceAccount in gateway.istio.io/service-account)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Report format (for --generate: yaml; json is a v1 List with --context, a LinkObjects document of each source''s objects with --contexts)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Report format (for --generate: yaml; json is a v1 List with --context, a LinkObjects document of each source''s objects with --contexts)')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path to the kubeconfig file [default: $KUBECONFIG (a '':''-separated list, merged), else ~/.kube/config]')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'The kubeconfig context of the one cluster to use [default: the current context]')
            [CompletionResult]::new('--contexts', '--contexts', [CompletionResultType]::ParameterName, 'Several clusters, as contexts; `name=context` names a cluster differently from its context')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Timeout of each API call')
            [CompletionResult]::new('--parallel', '--parallel', [CompletionResultType]::ParameterName, 'How many clusters to work on at once')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Only show what would change: "client" sends no writes, "server" sends them with dryRun=All')
            [CompletionResult]::new('--field-manager', '--field-manager', [CompletionResultType]::ParameterName, 'Field manager name for server-side apply')
            [CompletionResult]::new('--generate', '--generate', [CompletionResultType]::ParameterName, 'Print what links to the --context cluster (peer Gateway, or remote secret with its token), or with --contexts every link of each source, instead of applying')
            [CompletionResult]::new('--unlink', '--unlink', [CompletionResultType]::ParameterName, 'Delete our peer Gateways of the given pairs instead of creating them')
            [CompletionResult]::new('--prune', '--prune', [CompletionResultType]::ParameterName, 'Also delete our links to clusters that are not in the list, with --contexts those the topology does not want, and our links of the other mode (a flavour switch)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log what is done to stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log what is done to stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--force-conflicts', '--force-conflicts', [CompletionResultType]::ParameterName, 'Take over fields that another field manager owns (server-side apply conflicts)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'kubectl-mesh;certs' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('root', 'root', [CompletionResultType]::ParameterValue, 'Create the root CA (or adopt an existing one with --root-cert/--root-key)')
            [CompletionResult]::new('intermediate', 'intermediate', [CompletionResultType]::ParameterValue, 'Create the intermediate CA of one cluster, signed by the root')
            [CompletionResult]::new('generate', 'generate', [CompletionResultType]::ParameterValue, 'Create the root if missing, then the intermediates of all clusters, concurrently')
            [CompletionResult]::new('secret', 'secret', [CompletionResultType]::ParameterValue, 'Apply (or print with --generate) the cacerts Secret of each cluster')
            [CompletionResult]::new('inspect', 'inspect', [CompletionResultType]::ParameterValue, 'Show certificates from --dir or from clusters, and whether all share one root')
            [CompletionResult]::new('rotate', 'rotate', [CompletionResultType]::ParameterValue, 'Replace a cluster''s intermediate with a new one from the same root (old files backed up)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'kubectl-mesh;certs;root' {
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'Directory of the certificates (root files, one sub-directory per cluster)')
            [CompletionResult]::new('--key-type', '--key-type', [CompletionResultType]::ParameterName, 'Type of the keys generated [default: rsa-4096; for rotate, the type of the intermediate it replaces]')
            [CompletionResult]::new('--days', '--days', [CompletionResultType]::ParameterName, 'Validity in days [default: 3650 for the root, 730 for intermediates]')
            [CompletionResult]::new('--org', '--org', [CompletionResultType]::ParameterName, 'Organization (O=) of the certificates'' subjects')
            [CompletionResult]::new('--root-cert', '--root-cert', [CompletionResultType]::ParameterName, 'An existing root certificate to sign with (PEM); copied into --dir')
            [CompletionResult]::new('--root-key', '--root-key', [CompletionResultType]::ParameterName, 'The private key of --root-cert (PEM); copied into --dir with mode 0600')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Report format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Report format')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Overwrite existing certificate and key files. With rotate --apply-to (and certs secret): also replace a live cacerts Secret signed by another root, or holding another cluster''s intermediate; after a root change istiod must restart (`kubectl rollout restart deployment/istiod -n istio-system`), then the workloads')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log what is done to stderr')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log what is done to stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'kubectl-mesh;certs;intermediate' {
            [CompletionResult]::new('--cluster', '--cluster', [CompletionResultType]::ParameterName, 'The cluster whose intermediate to create (a DNS-1123 label)')
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'Directory of the certificates (root files, one sub-directory per cluster)')
            [CompletionResult]::new('--key-type', '--key-type', [CompletionResultType]::ParameterName, 'Type of the keys generated [default: rsa-4096; for rotate, the type of the intermediate it replaces]')
            [CompletionResult]::new('--days', '--days', [CompletionResultType]::ParameterName, 'Validity in days [default: 3650 for the root, 730 for intermediates]')
            [CompletionResult]::new('--org', '--org', [CompletionResultType]::ParameterName, 'Organization (O=) of the certificates'' subjects')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Report format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Report format')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Overwrite existing certificate and key files. With rotate --apply-to (and certs secret): also replace a live cacerts Secret signed by another root, or holding another cluster''s intermediate; after a root change istiod must restart (`kubectl rollout restart deployment/istiod -n istio-system`), then the workloads')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log what is done to stderr')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log what is done to stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'kubectl-mesh;certs;generate' {
            [CompletionResult]::new('--clusters', '--clusters', [CompletionResultType]::ParameterName, 'The clusters to create intermediates for')
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'Directory of the certificates (root files, one sub-directory per cluster)')
            [CompletionResult]::new('--key-type', '--key-type', [CompletionResultType]::ParameterName, 'Type of the keys generated [default: rsa-4096; for rotate, the type of the intermediate it replaces]')
            [CompletionResult]::new('--days', '--days', [CompletionResultType]::ParameterName, 'Validity in days [default: 3650 for the root, 730 for intermediates]')
            [CompletionResult]::new('--org', '--org', [CompletionResultType]::ParameterName, 'Organization (O=) of the certificates'' subjects')
            [CompletionResult]::new('--root-cert', '--root-cert', [CompletionResultType]::ParameterName, 'An existing root certificate to sign with (PEM); copied into --dir')
            [CompletionResult]::new('--root-key', '--root-key', [CompletionResultType]::ParameterName, 'The private key of --root-cert (PEM); copied into --dir with mode 0600')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Report format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Report format')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Overwrite existing certificate and key files. With rotate --apply-to (and certs secret): also replace a live cacerts Secret signed by another root, or holding another cluster''s intermediate; after a root change istiod must restart (`kubectl rollout restart deployment/istiod -n istio-system`), then the workloads')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log what is done to stderr')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log what is done to stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'kubectl-mesh;certs;secret' {
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'Directory of the certificates')
            [CompletionResult]::new('--clusters', '--clusters', [CompletionResultType]::ParameterName, 'With --generate: the clusters to print, by name in --dir [default: the --contexts]')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Report format (for --generate: yaml, or json for a v1 List)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Report format (for --generate: yaml, or json for a v1 List)')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path to the kubeconfig file [default: $KUBECONFIG (a '':''-separated list, merged), else ~/.kube/config]')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'The kubeconfig context of the one cluster to use [default: the current context]')
            [CompletionResult]::new('--contexts', '--contexts', [CompletionResultType]::ParameterName, 'Several clusters, as contexts; `name=context` names a cluster differently from its context')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Timeout of each API call')
            [CompletionResult]::new('--parallel', '--parallel', [CompletionResultType]::ParameterName, 'How many clusters to work on at once')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Only show what would change: "client" sends no writes, "server" sends them with dryRun=All')
            [CompletionResult]::new('--field-manager', '--field-manager', [CompletionResultType]::ParameterName, 'Field manager name for server-side apply')
            [CompletionResult]::new('--generate', '--generate', [CompletionResultType]::ParameterName, 'Print the Secrets instead of applying them (they contain the intermediates'' private keys)')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Replace a cacerts Secret signed by a different root (istiod must then restart), or one holding another cluster''s intermediate')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log what is done to stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log what is done to stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--force-conflicts', '--force-conflicts', [CompletionResultType]::ParameterName, 'Take over fields that another field manager owns (server-side apply conflicts)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'kubectl-mesh;certs;inspect' {
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'Directory of the certificates (used unless --context/--contexts is given)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Report format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Report format')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path to the kubeconfig file [default: $KUBECONFIG (a '':''-separated list, merged), else ~/.kube/config]')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'The kubeconfig context of the one cluster to use [default: the current context]')
            [CompletionResult]::new('--contexts', '--contexts', [CompletionResultType]::ParameterName, 'Several clusters, as contexts; `name=context` names a cluster differently from its context')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Timeout of each API call')
            [CompletionResult]::new('--parallel', '--parallel', [CompletionResultType]::ParameterName, 'How many clusters to work on at once')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log what is done to stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log what is done to stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'kubectl-mesh;certs;rotate' {
            [CompletionResult]::new('--cluster', '--cluster', [CompletionResultType]::ParameterName, 'The cluster whose intermediate to replace')
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'Directory of the certificates (root files, one sub-directory per cluster)')
            [CompletionResult]::new('--key-type', '--key-type', [CompletionResultType]::ParameterName, 'Type of the keys generated [default: rsa-4096; for rotate, the type of the intermediate it replaces]')
            [CompletionResult]::new('--days', '--days', [CompletionResultType]::ParameterName, 'Validity in days [default: 3650 for the root, 730 for intermediates]')
            [CompletionResult]::new('--org', '--org', [CompletionResultType]::ParameterName, 'Organization (O=) of the certificates'' subjects')
            [CompletionResult]::new('--apply-to', '--apply-to', [CompletionResultType]::ParameterName, 'Also apply the new cacerts Secret to this kubeconfig context')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path to the kubeconfig file (with --apply-to)')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Overwrite existing certificate and key files. With rotate --apply-to (and certs secret): also replace a live cacerts Secret signed by another root, or holding another cluster''s intermediate; after a root change istiod must restart (`kubectl rollout restart deployment/istiod -n istio-system`), then the workloads')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log what is done to stderr')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log what is done to stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'kubectl-mesh;certs;help' {
            [CompletionResult]::new('root', 'root', [CompletionResultType]::ParameterValue, 'Create the root CA (or adopt an existing one with --root-cert/--root-key)')
            [CompletionResult]::new('intermediate', 'intermediate', [CompletionResultType]::ParameterValue, 'Create the intermediate CA of one cluster, signed by the root')
            [CompletionResult]::new('generate', 'generate', [CompletionResultType]::ParameterValue, 'Create the root if missing, then the intermediates of all clusters, concurrently')
            [CompletionResult]::new('secret', 'secret', [CompletionResultType]::ParameterValue, 'Apply (or print with --generate) the cacerts Secret of each cluster')
            [CompletionResult]::new('inspect', 'inspect', [CompletionResultType]::ParameterValue, 'Show certificates from --dir or from clusters, and whether all share one root')
            [CompletionResult]::new('rotate', 'rotate', [CompletionResultType]::ParameterValue, 'Replace a cluster''s intermediate with a new one from the same root (old files backed up)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'kubectl-mesh;certs;help;root' {
            break
        }
        'kubectl-mesh;certs;help;intermediate' {
            break
        }
        'kubectl-mesh;certs;help;generate' {
            break
        }
        'kubectl-mesh;certs;help;secret' {
            break
        }
        'kubectl-mesh;certs;help;inspect' {
            break
        }
        'kubectl-mesh;certs;help;rotate' {
            break
        }
        'kubectl-mesh;certs;help;help' {
            break
        }
        'kubectl-mesh;verify' {
            [CompletionResult]::new('--mode', '--mode', [CompletionResultType]::ParameterName, 'Which links to expect [default: peering for flavour ambient-peering, else remote-secret]')
            [CompletionResult]::new('--flavor', '--flavor', [CompletionResultType]::ParameterName, 'Mesh flavour (chooses the default --mode and east-west gateway) [default: ambient-peering; sidecar with --primary]')
            [CompletionResult]::new('--primary', '--primary', [CompletionResultType]::ParameterName, 'Primary-remote: the cluster running the control plane; checks what that model needs (remote secrets in the primary only, istiod exposed, remotes annotated) instead of a full mesh')
            [CompletionResult]::new('--remotes', '--remotes', [CompletionResultType]::ParameterName, 'Primary-remote: the clusters whose control plane is --primary')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Namespace of the east-west gateway [default: istio-gateways for ambient-peering, else istio-system]')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'Namespace of the east-west gateway [default: istio-gateways for ambient-peering, else istio-system]')
            [CompletionResult]::new('--gateway', '--gateway', [CompletionResultType]::ParameterName, 'Name of the east-west gateway [default: istio-eastwest for ambient-peering, else istio-eastwestgateway]')
            [CompletionResult]::new('--expiry-warn-days', '--expiry-warn-days', [CompletionResultType]::ParameterName, 'Warn when an intermediate CA expires within this many days')
            [CompletionResult]::new('--probe-requests', '--probe-requests', [CompletionResultType]::ParameterName, 'Calls each probe client makes [default: 10 × the number of clusters, at least 20]')
            [CompletionResult]::new('--probe-image', '--probe-image', [CompletionResultType]::ParameterName, 'Image of the probe server (an http-echo: `-listen`, `-text` arguments)')
            [CompletionResult]::new('--probe-client-image', '--probe-client-image', [CompletionResultType]::ParameterName, 'Image of the probe client (needs sh and curl)')
            [CompletionResult]::new('--traffic-timeout', '--traffic-timeout', [CompletionResultType]::ParameterName, 'How long to wait for the probe servers to be ready, and again for the clients to finish')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Report format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Report format')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Verify the mesh of a topology file (as up -f): its clusters, flavour and links')
            [CompletionResult]::new('--filename', '--filename', [CompletionResultType]::ParameterName, 'Verify the mesh of a topology file (as up -f): its clusters, flavour and links')
            [CompletionResult]::new('--topology', '--topology', [CompletionResultType]::ParameterName, 'Which clusters link with which [default: hub-and-spoke with --hub, groups with --group, pairs with --pairs, else full-mesh]')
            [CompletionResult]::new('--hub', '--hub', [CompletionResultType]::ParameterName, 'Hub-and-spoke: a hub cluster, linked both ways with every other; spokes link only with hubs (repeatable)')
            [CompletionResult]::new('--pairs', '--pairs', [CompletionResultType]::ParameterName, 'Links both ways between A and B; with --group, A and B may be groups: every member of one with every member of the other')
            [CompletionResult]::new('--group', '--group', [CompletionResultType]::ParameterName, 'Groups: a group of clusters linked in a full mesh; groups link through --pairs (repeatable)')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path to the kubeconfig file [default: $KUBECONFIG (a '':''-separated list, merged), else ~/.kube/config]')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'The kubeconfig context of the one cluster to use [default: the current context]')
            [CompletionResult]::new('--contexts', '--contexts', [CompletionResultType]::ParameterName, 'Several clusters, as contexts; `name=context` names a cluster differently from its context')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Timeout of each API call')
            [CompletionResult]::new('--parallel', '--parallel', [CompletionResultType]::ParameterName, 'How many clusters to work on at once')
            [CompletionResult]::new('--strict', '--strict', [CompletionResultType]::ParameterName, 'Treat warnings as failures (exit 3 when there are only warnings)')
            [CompletionResult]::new('--services', '--services', [CompletionResultType]::ParameterName, 'Also check global services: hosts, contributing clusters, traffic distribution, namesakes')
            [CompletionResult]::new('--check-credentials', '--check-credentials', [CompletionResultType]::ParameterName, 'Remote-secret mode: log in to every target with its remote secret''s token')
            [CompletionResult]::new('--traffic', '--traffic', [CompletionResultType]::ParameterName, 'Prove traffic end to end: probe server and client Job in a temporary namespace per cluster')
            [CompletionResult]::new('--keep-probe', '--keep-probe', [CompletionResultType]::ParameterName, 'Leave the probe namespaces in place (to look into a failure); the report says how to remove them')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log what is done to stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log what is done to stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'kubectl-mesh;up' {
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The topology file (Istio''s simplified multicluster format: mesh_id, contexts -> network)')
            [CompletionResult]::new('--filename', '--filename', [CompletionResultType]::ParameterName, 'The topology file (Istio''s simplified multicluster format: mesh_id, contexts -> network)')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path to the kubeconfig file [default: $KUBECONFIG, else ~/.kube/config]')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Timeout of each API call')
            [CompletionResult]::new('--parallel', '--parallel', [CompletionResultType]::ParameterName, 'How many clusters to work on at once')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Report format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Report format')
            [CompletionResult]::new('--generate', '--generate', [CompletionResultType]::ParameterName, 'Write everything up would apply into DIR/<cluster>/ instead (creates missing certs on disk)')
            [CompletionResult]::new('--wait', '--wait', [CompletionResultType]::ParameterName, 'How long to wait for east-west gateways to get addresses')
            [CompletionResult]::new('--helm', '--helm', [CompletionResultType]::ParameterName, 'The helm program, for installer: helm')
            [CompletionResult]::new('--values-dir', '--values-dir', [CompletionResultType]::ParameterName, 'Where helm values files are written')
            [CompletionResult]::new('--chart-repo', '--chart-repo', [CompletionResultType]::ParameterName, 'Where helm takes the charts from: a repository alias (`helm repo add istio ...`) or an OCI prefix (Solo''s charts for flavor ambient-peering); charts are <REPO>/base, /istiod, ...')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Only show what would change: "client" sends no writes, "server" sends them with dryRun=All')
            [CompletionResult]::new('--field-manager', '--field-manager', [CompletionResultType]::ParameterName, 'Field manager name for server-side apply')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log what is done to stderr (-v info, -vv debug)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log what is done to stderr (-v info, -vv debug)')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Replace cacerts Secrets signed by a different root (istiod must then restart)')
            [CompletionResult]::new('--prune-removed', '--prune-removed', [CompletionResultType]::ParameterName, 'Also remove what up created in clusters that were removed from the file (they are always unlinked from the others)')
            [CompletionResult]::new('--force-conflicts', '--force-conflicts', [CompletionResultType]::ParameterName, 'Take over fields that another field manager owns (server-side apply conflicts)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'kubectl-mesh;down' {
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The topology file (Istio''s simplified multicluster format: mesh_id, contexts -> network)')
            [CompletionResult]::new('--filename', '--filename', [CompletionResultType]::ParameterName, 'The topology file (Istio''s simplified multicluster format: mesh_id, contexts -> network)')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path to the kubeconfig file [default: $KUBECONFIG, else ~/.kube/config]')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Timeout of each API call')
            [CompletionResult]::new('--parallel', '--parallel', [CompletionResultType]::ParameterName, 'How many clusters to work on at once')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Report format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Report format')
            [CompletionResult]::new('--helm', '--helm', [CompletionResultType]::ParameterName, 'The helm program, to uninstall the releases up installed (installer: helm)')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Only show what would change: "client" sends no writes, "server" sends them with dryRun=All')
            [CompletionResult]::new('--field-manager', '--field-manager', [CompletionResultType]::ParameterName, 'Field manager name for server-side apply')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log what is done to stderr (-v info, -vv debug)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log what is done to stderr (-v info, -vv debug)')
            [CompletionResult]::new('--force-conflicts', '--force-conflicts', [CompletionResultType]::ParameterName, 'Take over fields that another field manager owns (server-side apply conflicts)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'kubectl-mesh;controller' {
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The topology file whose members to keep linked (instead of --contexts)')
            [CompletionResult]::new('--filename', '--filename', [CompletionResultType]::ParameterName, 'The topology file whose members to keep linked (instead of --contexts)')
            [CompletionResult]::new('--flavor', '--flavor', [CompletionResultType]::ParameterName, 'Mesh flavour (chooses how clusters are linked) when --contexts names the members')
            [CompletionResult]::new('--mode', '--mode', [CompletionResultType]::ParameterName, 'How clusters are linked [default: peering for flavour ambient-peering, else remote-secret]')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Namespace of the east-west gateway and of the peer Gateways (peering)')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'Namespace of the east-west gateway and of the peer Gateways (peering)')
            [CompletionResult]::new('--gateway', '--gateway', [CompletionResultType]::ParameterName, 'Name of the east-west gateway in every cluster (peering)')
            [CompletionResult]::new('--token-duration', '--token-duration', [CompletionResultType]::ParameterName, 'Remote-secret mode: tokens the controller writes are bounded (TokenRequest) to this')
            [CompletionResult]::new('--token-refresh-before', '--token-refresh-before', [CompletionResultType]::ParameterName, 'Replace a bounded remote-secret token when it expires within this')
            [CompletionResult]::new('--cert-warning', '--cert-warning', [CompletionResultType]::ParameterName, 'Report intermediates (cacerts) expiring within this')
            [CompletionResult]::new('--resync', '--resync', [CompletionResultType]::ParameterName, 'Check every pair again this often, whatever the watches said')
            [CompletionResult]::new('--lease-context', '--lease-context', [CompletionResultType]::ParameterName, 'The kubeconfig context of the cluster holding the Lease and status [default: in a pod its own cluster, else the first member]')
            [CompletionResult]::new('--lease-namespace', '--lease-namespace', [CompletionResultType]::ParameterName, 'Namespace of the Lease and status ConfigMap [default: $POD_NAMESPACE, else istio-system]')
            [CompletionResult]::new('--lease-name', '--lease-name', [CompletionResultType]::ParameterName, 'Name of the Lease (replicas of one controller share it)')
            [CompletionResult]::new('--lease-duration', '--lease-duration', [CompletionResultType]::ParameterName, 'How long a Lease lasts unless renewed: a standby takes over at most this long after the leader stops')
            [CompletionResult]::new('--identity', '--identity', [CompletionResultType]::ParameterName, 'This replica''s identity in the Lease [default: $POD_NAME, else host name and process id]')
            [CompletionResult]::new('--listen', '--listen', [CompletionResultType]::ParameterName, 'Address of /metrics, /healthz and /readyz (`off` for none)')
            [CompletionResult]::new('--image', '--image', [CompletionResultType]::ParameterName, 'With --generate: the container image (one holding the kubectl-mesh binary)')
            [CompletionResult]::new('--controller-namespace', '--controller-namespace', [CompletionResultType]::ParameterName, 'With --generate: the namespace the controller runs in')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'With --generate: output format (yaml, or json for a v1 List)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'With --generate: output format (yaml, or json for a v1 List)')
            [CompletionResult]::new('--topology', '--topology', [CompletionResultType]::ParameterName, 'Which clusters link with which [default: hub-and-spoke with --hub, groups with --group, pairs with --pairs, else full-mesh]')
            [CompletionResult]::new('--hub', '--hub', [CompletionResultType]::ParameterName, 'Hub-and-spoke: a hub cluster, linked both ways with every other; spokes link only with hubs (repeatable)')
            [CompletionResult]::new('--pairs', '--pairs', [CompletionResultType]::ParameterName, 'Links both ways between A and B; with --group, A and B may be groups: every member of one with every member of the other')
            [CompletionResult]::new('--group', '--group', [CompletionResultType]::ParameterName, 'Groups: a group of clusters linked in a full mesh; groups link through --pairs (repeatable)')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path to the kubeconfig file [default: $KUBECONFIG (a '':''-separated list, merged), else ~/.kube/config]')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'The kubeconfig context of the one cluster to use [default: the current context]')
            [CompletionResult]::new('--contexts', '--contexts', [CompletionResultType]::ParameterName, 'Several clusters, as contexts; `name=context` names a cluster differently from its context')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Timeout of each API call')
            [CompletionResult]::new('--parallel', '--parallel', [CompletionResultType]::ParameterName, 'How many clusters to work on at once')
            [CompletionResult]::new('--prune', '--prune', [CompletionResultType]::ParameterName, 'Also delete our links between members that the topology does not want (made by hand, or left by an earlier topology); with --generate --member-rbac, the member Roles then allow delete')
            [CompletionResult]::new('--exit-on-kubeconfig-change', '--exit-on-kubeconfig-change', [CompletionResultType]::ParameterName, 'Exit (releasing the Lease) when the kubeconfig files change, so that whatever restarts it uses the new credentials; the generated Deployment sets it, for a members Secret with renewed tokens')
            [CompletionResult]::new('--generate', '--generate', [CompletionResultType]::ParameterName, 'Print the objects that run the controller in a management cluster instead of running it')
            [CompletionResult]::new('--member-rbac', '--member-rbac', [CompletionResultType]::ParameterName, 'With --generate: print instead what to apply in each member cluster — the controller''s ServiceAccount there and Roles for exactly what it does')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log what is done to stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log what is done to stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'kubectl-mesh;version' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'kubectl-mesh;completion' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'kubectl-mesh;help' {
            [CompletionResult]::new('expose', 'expose', [CompletionResultType]::ParameterValue, 'Deploy the east-west gateway to one or many clusters, or print it (--generate)')
            [CompletionResult]::new('link', 'link', [CompletionResultType]::ParameterValue, 'Link every cluster with every other (peer Gateways), or some pairs')
            [CompletionResult]::new('certs', 'certs', [CompletionResultType]::ParameterValue, 'Create the shared root of trust and per-cluster intermediates, and install them')
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Check that the mesh is consistent: trust, gateways, links, traffic (exit 0 healthy, 1 failed, 3 warnings with --strict)')
            [CompletionResult]::new('up', 'up', [CompletionResultType]::ParameterValue, 'Converge every cluster of a topology file: certs, install, expose, link, verify')
            [CompletionResult]::new('down', 'down', [CompletionResultType]::ParameterValue, 'Remove everything `up` created for a topology file (keys on disk are kept)')
            [CompletionResult]::new('controller', 'controller', [CompletionResultType]::ParameterValue, 'Keep the mesh converged: watch the members, re-link what changes, refresh tokens (leader-elected)')
            [CompletionResult]::new('version', 'version', [CompletionResultType]::ParameterValue, 'Print the version and git commit')
            [CompletionResult]::new('completion', 'completion', [CompletionResultType]::ParameterValue, 'Print the shell completion script of kubectl-mesh (bash, zsh, fish, powershell)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'kubectl-mesh;help;expose' {
            break
        }
        'kubectl-mesh;help;link' {
            break
        }
        'kubectl-mesh;help;certs' {
            [CompletionResult]::new('root', 'root', [CompletionResultType]::ParameterValue, 'Create the root CA (or adopt an existing one with --root-cert/--root-key)')
            [CompletionResult]::new('intermediate', 'intermediate', [CompletionResultType]::ParameterValue, 'Create the intermediate CA of one cluster, signed by the root')
            [CompletionResult]::new('generate', 'generate', [CompletionResultType]::ParameterValue, 'Create the root if missing, then the intermediates of all clusters, concurrently')
            [CompletionResult]::new('secret', 'secret', [CompletionResultType]::ParameterValue, 'Apply (or print with --generate) the cacerts Secret of each cluster')
            [CompletionResult]::new('inspect', 'inspect', [CompletionResultType]::ParameterValue, 'Show certificates from --dir or from clusters, and whether all share one root')
            [CompletionResult]::new('rotate', 'rotate', [CompletionResultType]::ParameterValue, 'Replace a cluster''s intermediate with a new one from the same root (old files backed up)')
            break
        }
        'kubectl-mesh;help;certs;root' {
            break
        }
        'kubectl-mesh;help;certs;intermediate' {
            break
        }
        'kubectl-mesh;help;certs;generate' {
            break
        }
        'kubectl-mesh;help;certs;secret' {
            break
        }
        'kubectl-mesh;help;certs;inspect' {
            break
        }
        'kubectl-mesh;help;certs;rotate' {
            break
        }
        'kubectl-mesh;help;verify' {
            break
        }
        'kubectl-mesh;help;up' {
            break
        }
        'kubectl-mesh;help;down' {
            break
        }
        'kubectl-mesh;help;controller' {
            break
        }
        'kubectl-mesh;help;version' {
            break
        }
        'kubectl-mesh;help;completion' {
            break
        }
        'kubectl-mesh;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
