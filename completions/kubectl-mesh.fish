# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_kubectl_mesh_global_optspecs
    string join \n h/help V/version
end

function __fish_kubectl_mesh_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_kubectl_mesh_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_kubectl_mesh_using_subcommand
    set -l cmd (__fish_kubectl_mesh_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c kubectl-mesh -n "__fish_kubectl_mesh_needs_command" -s h -l help -d 'Print help'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_needs_command" -s V -l version -d 'Print version'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_needs_command" -f -a "expose" -d 'Deploy the east-west gateway to one or many clusters, or print it (--generate)'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_needs_command" -f -a "link" -d 'Link every cluster with every other (peer Gateways), or some pairs'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_needs_command" -f -a "certs" -d 'Create the shared root of trust and per-cluster intermediates, and install them'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_needs_command" -f -a "verify" -d 'Check that the mesh is consistent: trust, gateways, links, traffic (exit 0 healthy, 1 failed, 3 warnings with --strict)'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_needs_command" -f -a "up" -d 'Converge every cluster of a topology file: certs, install, expose, link, verify'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_needs_command" -f -a "down" -d 'Remove everything `up` created for a topology file (keys on disk are kept)'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_needs_command" -f -a "controller" -d 'Keep the mesh converged: watch the members, re-link what changes, refresh tokens (leader-elected)'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_needs_command" -f -a "version" -d 'Print the version and git commit'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_needs_command" -f -a "completion" -d 'Print the shell completion script of kubectl-mesh (bash, zsh, fish, powershell)'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand expose" -l flavor -d 'Gateway flavour' -r -f -a "ambient-peering\t''
ambient\t''
sidecar\t''"
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand expose" -l network -d 'Network of the cluster(s) [default: the topology.istio.io/network label of istio-system]' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand expose" -l wait -d 'Wait until the gateway has an address (and is Programmed); `--wait` alone waits 5m' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand expose" -l name -d 'Name of the gateway [default: istio-eastwest; istio-eastwestgateway for ambient and sidecar]' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand expose" -s n -l namespace -d 'Namespace of the gateway [default: istio-gateways; istio-system for ambient and sidecar]' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand expose" -l gateway-class -d 'GatewayClass of the gateway [default: istio-eastwest; istio-east-west for ambient]' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand expose" -l service -d 'Make this Service global in every listed cluster instead of deploying the gateway (label solo.io/service-scope for ambient-peering, istio.io/global for ambient; sidecar needs none)' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand expose" -l scope -d 'With --service: global or global-only (ambient-peering only). Clients reach it as <name>.<ns>.mesh.internal with ambient-peering, as <name>.<ns>.svc.cluster.local with upstream ambient' -r -f -a "global\t''
global-only\t''"
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand expose" -l traffic-distribution -d 'With --service: how traffic spreads over clusters' -r -f -a "PreferClose\t''
PreferNetwork\t''
PreferRegion\t''
Any\t''"
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand expose" -s o -l output -d 'Report format (for --generate: yaml, or json for a v1 List)' -r -f -a "table\t''
yaml\t''
json\t''"
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand expose" -l kubeconfig -d 'Path to the kubeconfig file [default: $KUBECONFIG (a \':\'-separated list, merged), else ~/.kube/config]' -r -F
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand expose" -l context -d 'The kubeconfig context of the one cluster to use [default: the current context]' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand expose" -l contexts -d 'Several clusters, as contexts; `name=context` names a cluster differently from its context' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand expose" -l timeout -d 'Timeout of each API call' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand expose" -l parallel -d 'How many clusters to work on at once' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand expose" -l dry-run -d 'Only show what would change: "client" sends no writes, "server" sends them with dryRun=All' -r -f -a "none\t''
client\t''
server\t''"
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand expose" -l field-manager -d 'Field manager name for server-side apply' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand expose" -l generate -d 'Print the objects as YAML instead of applying them (offline when --network is given; the cluster label then comes from --context / --contexts NAME=CONTEXT, else is left out)'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand expose" -l expose-istiod -d 'Sidecar flavour: also expose istiod through the gateway (for primary-remote)'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand expose" -s v -l verbose -d 'Log what is done to stderr (-v info, -vv debug, -vvv trace)'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand expose" -l force-conflicts -d 'Take over fields that another field manager owns (server-side apply conflicts)'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand expose" -s h -l help -d 'Print help'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand link" -l mode -d 'How clusters are linked [default: peering for flavour ambient-peering, else remote-secret]' -r -f -a "peering\t''
remote-secret\t''"
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand link" -l flavor -d 'Mesh flavour (chooses the default --mode)' -r -f -a "ambient-peering\t''
ambient\t''
sidecar\t''"
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand link" -l primary -d 'Primary-remote: the cluster running the control plane (remote-secret mode)' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand link" -l remotes -d 'Primary-remote: the clusters whose control plane is --primary' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand link" -l token-duration -d 'Remote-secret mode: a bounded token (TokenRequest) instead of a long-lived token Secret' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand link" -l server -d 'Remote-secret mode: the API server address written into the kubeconfig (one target only; needed when the kubeconfig\'s is a loopback address such as kind\'s 127.0.0.1)' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand link" -l from -d 'Source cluster of a one-direction link ([NAME=]CONTEXT)' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand link" -l to -d 'Target cluster(s) of a one-direction link ([NAME=]CONTEXT,...)' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand link" -l topology -d 'Which clusters link with which [default: hub-and-spoke with --hub, groups with --group, pairs with --pairs, else full-mesh]' -r -f -a "full-mesh\t''
hub-and-spoke\t''
pairs\t''
groups\t''"
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand link" -l hub -d 'Hub-and-spoke: a hub cluster, linked both ways with every other; spokes link only with hubs (repeatable)' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand link" -l pairs -d 'Links both ways between A and B; with --group, A and B may be groups: every member of one with every member of the other' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand link" -l group -d 'Groups: a group of clusters linked in a full mesh; groups link through --pairs (repeatable)' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand link" -s n -l namespace -d 'Namespace of the east-west gateway and of the peer Gateways' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand link" -l gateway -d 'Name of the east-west gateway in every cluster (peers name its ServiceAccount in gateway.istio.io/service-account)' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand link" -s o -l output -d 'Report format (for --generate: yaml; json is a v1 List with --context, a LinkObjects document of each source\'s objects with --contexts)' -r -f -a "table\t''
yaml\t''
json\t''"
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand link" -l kubeconfig -d 'Path to the kubeconfig file [default: $KUBECONFIG (a \':\'-separated list, merged), else ~/.kube/config]' -r -F
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand link" -l context -d 'The kubeconfig context of the one cluster to use [default: the current context]' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand link" -l contexts -d 'Several clusters, as contexts; `name=context` names a cluster differently from its context' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand link" -l timeout -d 'Timeout of each API call' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand link" -l parallel -d 'How many clusters to work on at once' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand link" -l dry-run -d 'Only show what would change: "client" sends no writes, "server" sends them with dryRun=All' -r -f -a "none\t''
client\t''
server\t''"
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand link" -l field-manager -d 'Field manager name for server-side apply' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand link" -l generate -d 'Print what links to the --context cluster (peer Gateway, or remote secret with its token), or with --contexts every link of each source, instead of applying'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand link" -l unlink -d 'Delete our peer Gateways of the given pairs instead of creating them'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand link" -l prune -d 'Also delete our links to clusters that are not in the list, with --contexts those the topology does not want, and our links of the other mode (a flavour switch)'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand link" -s v -l verbose -d 'Log what is done to stderr (-v info, -vv debug, -vvv trace)'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand link" -l force-conflicts -d 'Take over fields that another field manager owns (server-side apply conflicts)'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand link" -s h -l help -d 'Print help'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand certs; and not __fish_seen_subcommand_from root intermediate generate secret inspect rotate help" -s h -l help -d 'Print help'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand certs; and not __fish_seen_subcommand_from root intermediate generate secret inspect rotate help" -f -a "root" -d 'Create the root CA (or adopt an existing one with --root-cert/--root-key)'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand certs; and not __fish_seen_subcommand_from root intermediate generate secret inspect rotate help" -f -a "intermediate" -d 'Create the intermediate CA of one cluster, signed by the root'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand certs; and not __fish_seen_subcommand_from root intermediate generate secret inspect rotate help" -f -a "generate" -d 'Create the root if missing, then the intermediates of all clusters, concurrently'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand certs; and not __fish_seen_subcommand_from root intermediate generate secret inspect rotate help" -f -a "secret" -d 'Apply (or print with --generate) the cacerts Secret of each cluster'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand certs; and not __fish_seen_subcommand_from root intermediate generate secret inspect rotate help" -f -a "inspect" -d 'Show certificates from --dir or from clusters, and whether all share one root'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand certs; and not __fish_seen_subcommand_from root intermediate generate secret inspect rotate help" -f -a "rotate" -d 'Replace a cluster\'s intermediate with a new one from the same root (old files backed up)'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand certs; and not __fish_seen_subcommand_from root intermediate generate secret inspect rotate help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand certs; and __fish_seen_subcommand_from root" -l dir -d 'Directory of the certificates (root files, one sub-directory per cluster)' -r -F
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand certs; and __fish_seen_subcommand_from root" -l key-type -d 'Type of the keys generated [default: rsa-4096; for rotate, the type of the intermediate it replaces]' -r -f -a "rsa-4096\t''
rsa-2048\t''
ec-p256\t''
ec-p384\t''"
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand certs; and __fish_seen_subcommand_from root" -l days -d 'Validity in days [default: 3650 for the root, 730 for intermediates]' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand certs; and __fish_seen_subcommand_from root" -l org -d 'Organization (O=) of the certificates\' subjects' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand certs; and __fish_seen_subcommand_from root" -l root-cert -d 'An existing root certificate to sign with (PEM); copied into --dir' -r -F
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand certs; and __fish_seen_subcommand_from root" -l root-key -d 'The private key of --root-cert (PEM); copied into --dir with mode 0600' -r -F
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand certs; and __fish_seen_subcommand_from root" -s o -l output -d 'Report format' -r -f -a "table\t''
yaml\t''
json\t''"
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand certs; and __fish_seen_subcommand_from root" -l force -d 'Overwrite existing certificate and key files. With rotate --apply-to (and certs secret): also replace a live cacerts Secret signed by another root, or holding another cluster\'s intermediate; after a root change istiod must restart (`kubectl rollout restart deployment/istiod -n istio-system`), then the workloads'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand certs; and __fish_seen_subcommand_from root" -s v -l verbose -d 'Log what is done to stderr'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand certs; and __fish_seen_subcommand_from root" -s h -l help -d 'Print help'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand certs; and __fish_seen_subcommand_from intermediate" -l cluster -d 'The cluster whose intermediate to create (a DNS-1123 label)' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand certs; and __fish_seen_subcommand_from intermediate" -l dir -d 'Directory of the certificates (root files, one sub-directory per cluster)' -r -F
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand certs; and __fish_seen_subcommand_from intermediate" -l key-type -d 'Type of the keys generated [default: rsa-4096; for rotate, the type of the intermediate it replaces]' -r -f -a "rsa-4096\t''
rsa-2048\t''
ec-p256\t''
ec-p384\t''"
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand certs; and __fish_seen_subcommand_from intermediate" -l days -d 'Validity in days [default: 3650 for the root, 730 for intermediates]' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand certs; and __fish_seen_subcommand_from intermediate" -l org -d 'Organization (O=) of the certificates\' subjects' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand certs; and __fish_seen_subcommand_from intermediate" -s o -l output -d 'Report format' -r -f -a "table\t''
yaml\t''
json\t''"
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand certs; and __fish_seen_subcommand_from intermediate" -l force -d 'Overwrite existing certificate and key files. With rotate --apply-to (and certs secret): also replace a live cacerts Secret signed by another root, or holding another cluster\'s intermediate; after a root change istiod must restart (`kubectl rollout restart deployment/istiod -n istio-system`), then the workloads'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand certs; and __fish_seen_subcommand_from intermediate" -s v -l verbose -d 'Log what is done to stderr'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand certs; and __fish_seen_subcommand_from intermediate" -s h -l help -d 'Print help'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand certs; and __fish_seen_subcommand_from generate" -l clusters -d 'The clusters to create intermediates for' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand certs; and __fish_seen_subcommand_from generate" -l dir -d 'Directory of the certificates (root files, one sub-directory per cluster)' -r -F
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand certs; and __fish_seen_subcommand_from generate" -l key-type -d 'Type of the keys generated [default: rsa-4096; for rotate, the type of the intermediate it replaces]' -r -f -a "rsa-4096\t''
rsa-2048\t''
ec-p256\t''
ec-p384\t''"
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand certs; and __fish_seen_subcommand_from generate" -l days -d 'Validity in days [default: 3650 for the root, 730 for intermediates]' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand certs; and __fish_seen_subcommand_from generate" -l org -d 'Organization (O=) of the certificates\' subjects' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand certs; and __fish_seen_subcommand_from generate" -l root-cert -d 'An existing root certificate to sign with (PEM); copied into --dir' -r -F
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand certs; and __fish_seen_subcommand_from generate" -l root-key -d 'The private key of --root-cert (PEM); copied into --dir with mode 0600' -r -F
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand certs; and __fish_seen_subcommand_from generate" -s o -l output -d 'Report format' -r -f -a "table\t''
yaml\t''
json\t''"
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand certs; and __fish_seen_subcommand_from generate" -l force -d 'Overwrite existing certificate and key files. With rotate --apply-to (and certs secret): also replace a live cacerts Secret signed by another root, or holding another cluster\'s intermediate; after a root change istiod must restart (`kubectl rollout restart deployment/istiod -n istio-system`), then the workloads'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand certs; and __fish_seen_subcommand_from generate" -s v -l verbose -d 'Log what is done to stderr'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand certs; and __fish_seen_subcommand_from generate" -s h -l help -d 'Print help'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand certs; and __fish_seen_subcommand_from secret" -l dir -d 'Directory of the certificates' -r -F
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand certs; and __fish_seen_subcommand_from secret" -l clusters -d 'With --generate: the clusters to print, by name in --dir [default: the --contexts]' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand certs; and __fish_seen_subcommand_from secret" -s o -l output -d 'Report format (for --generate: yaml, or json for a v1 List)' -r -f -a "table\t''
yaml\t''
json\t''"
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand certs; and __fish_seen_subcommand_from secret" -l kubeconfig -d 'Path to the kubeconfig file [default: $KUBECONFIG (a \':\'-separated list, merged), else ~/.kube/config]' -r -F
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand certs; and __fish_seen_subcommand_from secret" -l context -d 'The kubeconfig context of the one cluster to use [default: the current context]' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand certs; and __fish_seen_subcommand_from secret" -l contexts -d 'Several clusters, as contexts; `name=context` names a cluster differently from its context' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand certs; and __fish_seen_subcommand_from secret" -l timeout -d 'Timeout of each API call' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand certs; and __fish_seen_subcommand_from secret" -l parallel -d 'How many clusters to work on at once' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand certs; and __fish_seen_subcommand_from secret" -l dry-run -d 'Only show what would change: "client" sends no writes, "server" sends them with dryRun=All' -r -f -a "none\t''
client\t''
server\t''"
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand certs; and __fish_seen_subcommand_from secret" -l field-manager -d 'Field manager name for server-side apply' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand certs; and __fish_seen_subcommand_from secret" -l generate -d 'Print the Secrets instead of applying them (they contain the intermediates\' private keys)'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand certs; and __fish_seen_subcommand_from secret" -l force -d 'Replace a cacerts Secret signed by a different root (istiod must then restart), or one holding another cluster\'s intermediate'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand certs; and __fish_seen_subcommand_from secret" -s v -l verbose -d 'Log what is done to stderr (-v info, -vv debug, -vvv trace)'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand certs; and __fish_seen_subcommand_from secret" -l force-conflicts -d 'Take over fields that another field manager owns (server-side apply conflicts)'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand certs; and __fish_seen_subcommand_from secret" -s h -l help -d 'Print help'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand certs; and __fish_seen_subcommand_from inspect" -l dir -d 'Directory of the certificates (used unless --context/--contexts is given)' -r -F
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand certs; and __fish_seen_subcommand_from inspect" -s o -l output -d 'Report format' -r -f -a "table\t''
yaml\t''
json\t''"
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand certs; and __fish_seen_subcommand_from inspect" -l kubeconfig -d 'Path to the kubeconfig file [default: $KUBECONFIG (a \':\'-separated list, merged), else ~/.kube/config]' -r -F
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand certs; and __fish_seen_subcommand_from inspect" -l context -d 'The kubeconfig context of the one cluster to use [default: the current context]' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand certs; and __fish_seen_subcommand_from inspect" -l contexts -d 'Several clusters, as contexts; `name=context` names a cluster differently from its context' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand certs; and __fish_seen_subcommand_from inspect" -l timeout -d 'Timeout of each API call' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand certs; and __fish_seen_subcommand_from inspect" -l parallel -d 'How many clusters to work on at once' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand certs; and __fish_seen_subcommand_from inspect" -s v -l verbose -d 'Log what is done to stderr (-v info, -vv debug, -vvv trace)'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand certs; and __fish_seen_subcommand_from inspect" -s h -l help -d 'Print help'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand certs; and __fish_seen_subcommand_from rotate" -l cluster -d 'The cluster whose intermediate to replace' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand certs; and __fish_seen_subcommand_from rotate" -l dir -d 'Directory of the certificates (root files, one sub-directory per cluster)' -r -F
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand certs; and __fish_seen_subcommand_from rotate" -l key-type -d 'Type of the keys generated [default: rsa-4096; for rotate, the type of the intermediate it replaces]' -r -f -a "rsa-4096\t''
rsa-2048\t''
ec-p256\t''
ec-p384\t''"
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand certs; and __fish_seen_subcommand_from rotate" -l days -d 'Validity in days [default: 3650 for the root, 730 for intermediates]' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand certs; and __fish_seen_subcommand_from rotate" -l org -d 'Organization (O=) of the certificates\' subjects' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand certs; and __fish_seen_subcommand_from rotate" -l apply-to -d 'Also apply the new cacerts Secret to this kubeconfig context' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand certs; and __fish_seen_subcommand_from rotate" -l kubeconfig -d 'Path to the kubeconfig file (with --apply-to)' -r -F
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand certs; and __fish_seen_subcommand_from rotate" -l force -d 'Overwrite existing certificate and key files. With rotate --apply-to (and certs secret): also replace a live cacerts Secret signed by another root, or holding another cluster\'s intermediate; after a root change istiod must restart (`kubectl rollout restart deployment/istiod -n istio-system`), then the workloads'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand certs; and __fish_seen_subcommand_from rotate" -s v -l verbose -d 'Log what is done to stderr'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand certs; and __fish_seen_subcommand_from rotate" -s h -l help -d 'Print help'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand certs; and __fish_seen_subcommand_from help" -f -a "root" -d 'Create the root CA (or adopt an existing one with --root-cert/--root-key)'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand certs; and __fish_seen_subcommand_from help" -f -a "intermediate" -d 'Create the intermediate CA of one cluster, signed by the root'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand certs; and __fish_seen_subcommand_from help" -f -a "generate" -d 'Create the root if missing, then the intermediates of all clusters, concurrently'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand certs; and __fish_seen_subcommand_from help" -f -a "secret" -d 'Apply (or print with --generate) the cacerts Secret of each cluster'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand certs; and __fish_seen_subcommand_from help" -f -a "inspect" -d 'Show certificates from --dir or from clusters, and whether all share one root'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand certs; and __fish_seen_subcommand_from help" -f -a "rotate" -d 'Replace a cluster\'s intermediate with a new one from the same root (old files backed up)'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand certs; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand verify" -l mode -d 'Which links to expect [default: peering for flavour ambient-peering, else remote-secret]' -r -f -a "peering\t''
remote-secret\t''"
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand verify" -l flavor -d 'Mesh flavour (chooses the default --mode and east-west gateway) [default: ambient-peering; sidecar with --primary]' -r -f -a "ambient-peering\t''
ambient\t''
sidecar\t''"
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand verify" -l primary -d 'Primary-remote: the cluster running the control plane; checks what that model needs (remote secrets in the primary only, istiod exposed, remotes annotated) instead of a full mesh' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand verify" -l remotes -d 'Primary-remote: the clusters whose control plane is --primary' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand verify" -s n -l namespace -d 'Namespace of the east-west gateway [default: istio-gateways for ambient-peering, else istio-system]' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand verify" -l gateway -d 'Name of the east-west gateway [default: istio-eastwest for ambient-peering, else istio-eastwestgateway]' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand verify" -l expiry-warn-days -d 'Warn when an intermediate CA expires within this many days' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand verify" -l probe-requests -d 'Calls each probe client makes [default: 10 × the number of clusters, at least 20]' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand verify" -l probe-image -d 'Image of the probe server (an http-echo: `-listen`, `-text` arguments)' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand verify" -l probe-client-image -d 'Image of the probe client (needs sh and curl)' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand verify" -l traffic-timeout -d 'How long to wait for the probe servers to be ready, and again for the clients to finish' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand verify" -s o -l output -d 'Report format' -r -f -a "table\t''
yaml\t''
json\t''"
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand verify" -s f -l filename -d 'Verify the mesh of a topology file (as up -f): its clusters, flavour and links' -r -F
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand verify" -l topology -d 'Which clusters link with which [default: hub-and-spoke with --hub, groups with --group, pairs with --pairs, else full-mesh]' -r -f -a "full-mesh\t''
hub-and-spoke\t''
pairs\t''
groups\t''"
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand verify" -l hub -d 'Hub-and-spoke: a hub cluster, linked both ways with every other; spokes link only with hubs (repeatable)' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand verify" -l pairs -d 'Links both ways between A and B; with --group, A and B may be groups: every member of one with every member of the other' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand verify" -l group -d 'Groups: a group of clusters linked in a full mesh; groups link through --pairs (repeatable)' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand verify" -l kubeconfig -d 'Path to the kubeconfig file [default: $KUBECONFIG (a \':\'-separated list, merged), else ~/.kube/config]' -r -F
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand verify" -l context -d 'The kubeconfig context of the one cluster to use [default: the current context]' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand verify" -l contexts -d 'Several clusters, as contexts; `name=context` names a cluster differently from its context' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand verify" -l timeout -d 'Timeout of each API call' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand verify" -l parallel -d 'How many clusters to work on at once' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand verify" -l strict -d 'Treat warnings as failures (exit 3 when there are only warnings)'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand verify" -l services -d 'Also check global services: hosts, contributing clusters, traffic distribution, namesakes'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand verify" -l check-credentials -d 'Remote-secret mode: log in to every target with its remote secret\'s token'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand verify" -l traffic -d 'Prove traffic end to end: probe server and client Job in a temporary namespace per cluster'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand verify" -l keep-probe -d 'Leave the probe namespaces in place (to look into a failure); the report says how to remove them'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand verify" -s v -l verbose -d 'Log what is done to stderr (-v info, -vv debug, -vvv trace)'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand verify" -s h -l help -d 'Print help'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand up" -s f -l filename -d 'The topology file (Istio\'s simplified multicluster format: mesh_id, contexts -> network)' -r -F
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand up" -l kubeconfig -d 'Path to the kubeconfig file [default: $KUBECONFIG, else ~/.kube/config]' -r -F
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand up" -l timeout -d 'Timeout of each API call' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand up" -l parallel -d 'How many clusters to work on at once' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand up" -s o -l output -d 'Report format' -r -f -a "table\t''
yaml\t''
json\t''"
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand up" -l generate -d 'Write everything up would apply into DIR/<cluster>/ instead (creates missing certs on disk)' -r -F
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand up" -l wait -d 'How long to wait for east-west gateways to get addresses' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand up" -l helm -d 'The helm program, for installer: helm' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand up" -l values-dir -d 'Where helm values files are written' -r -F
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand up" -l chart-repo -d 'Where helm takes the charts from: a repository alias (`helm repo add istio ...`) or an OCI prefix (Solo\'s charts for flavor ambient-peering); charts are <REPO>/base, /istiod, ...' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand up" -l dry-run -d 'Only show what would change: "client" sends no writes, "server" sends them with dryRun=All' -r -f -a "none\t''
client\t''
server\t''"
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand up" -l field-manager -d 'Field manager name for server-side apply' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand up" -s v -l verbose -d 'Log what is done to stderr (-v info, -vv debug)'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand up" -l force -d 'Replace cacerts Secrets signed by a different root (istiod must then restart)'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand up" -l prune-removed -d 'Also remove what up created in clusters that were removed from the file (they are always unlinked from the others)'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand up" -l force-conflicts -d 'Take over fields that another field manager owns (server-side apply conflicts)'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand up" -s h -l help -d 'Print help'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand down" -s f -l filename -d 'The topology file (Istio\'s simplified multicluster format: mesh_id, contexts -> network)' -r -F
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand down" -l kubeconfig -d 'Path to the kubeconfig file [default: $KUBECONFIG, else ~/.kube/config]' -r -F
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand down" -l timeout -d 'Timeout of each API call' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand down" -l parallel -d 'How many clusters to work on at once' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand down" -s o -l output -d 'Report format' -r -f -a "table\t''
yaml\t''
json\t''"
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand down" -l helm -d 'The helm program, to uninstall the releases up installed (installer: helm)' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand down" -l dry-run -d 'Only show what would change: "client" sends no writes, "server" sends them with dryRun=All' -r -f -a "none\t''
client\t''
server\t''"
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand down" -l field-manager -d 'Field manager name for server-side apply' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand down" -s v -l verbose -d 'Log what is done to stderr (-v info, -vv debug)'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand down" -l force-conflicts -d 'Take over fields that another field manager owns (server-side apply conflicts)'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand down" -s h -l help -d 'Print help'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand controller" -s f -l filename -d 'The topology file whose members to keep linked (instead of --contexts)' -r -F
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand controller" -l flavor -d 'Mesh flavour (chooses how clusters are linked) when --contexts names the members' -r -f -a "ambient-peering\t''
ambient\t''
sidecar\t''"
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand controller" -l mode -d 'How clusters are linked [default: peering for flavour ambient-peering, else remote-secret]' -r -f -a "peering\t''
remote-secret\t''"
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand controller" -s n -l namespace -d 'Namespace of the east-west gateway and of the peer Gateways (peering)' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand controller" -l gateway -d 'Name of the east-west gateway in every cluster (peering)' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand controller" -l token-duration -d 'Remote-secret mode: tokens the controller writes are bounded (TokenRequest) to this' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand controller" -l token-refresh-before -d 'Replace a bounded remote-secret token when it expires within this' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand controller" -l cert-warning -d 'Report intermediates (cacerts) expiring within this' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand controller" -l resync -d 'Check every pair again this often, whatever the watches said' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand controller" -l lease-context -d 'The kubeconfig context of the cluster holding the Lease and status [default: in a pod its own cluster, else the first member]' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand controller" -l lease-namespace -d 'Namespace of the Lease and status ConfigMap [default: $POD_NAMESPACE, else istio-system]' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand controller" -l lease-name -d 'Name of the Lease (replicas of one controller share it)' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand controller" -l lease-duration -d 'How long a Lease lasts unless renewed: a standby takes over at most this long after the leader stops' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand controller" -l identity -d 'This replica\'s identity in the Lease [default: $POD_NAME, else host name and process id]' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand controller" -l listen -d 'Address of /metrics, /healthz and /readyz (`off` for none)' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand controller" -l image -d 'With --generate: the container image (one holding the kubectl-mesh binary)' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand controller" -l controller-namespace -d 'With --generate: the namespace the controller runs in' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand controller" -s o -l output -d 'With --generate: output format (yaml, or json for a v1 List)' -r -f -a "table\t''
yaml\t''
json\t''"
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand controller" -l topology -d 'Which clusters link with which [default: hub-and-spoke with --hub, groups with --group, pairs with --pairs, else full-mesh]' -r -f -a "full-mesh\t''
hub-and-spoke\t''
pairs\t''
groups\t''"
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand controller" -l hub -d 'Hub-and-spoke: a hub cluster, linked both ways with every other; spokes link only with hubs (repeatable)' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand controller" -l pairs -d 'Links both ways between A and B; with --group, A and B may be groups: every member of one with every member of the other' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand controller" -l group -d 'Groups: a group of clusters linked in a full mesh; groups link through --pairs (repeatable)' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand controller" -l kubeconfig -d 'Path to the kubeconfig file [default: $KUBECONFIG (a \':\'-separated list, merged), else ~/.kube/config]' -r -F
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand controller" -l context -d 'The kubeconfig context of the one cluster to use [default: the current context]' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand controller" -l contexts -d 'Several clusters, as contexts; `name=context` names a cluster differently from its context' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand controller" -l timeout -d 'Timeout of each API call' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand controller" -l parallel -d 'How many clusters to work on at once' -r
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand controller" -l prune -d 'Also delete our links between members that the topology does not want (made by hand, or left by an earlier topology); with --generate --member-rbac, the member Roles then allow delete'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand controller" -l exit-on-kubeconfig-change -d 'Exit (releasing the Lease) when the kubeconfig files change, so that whatever restarts it uses the new credentials; the generated Deployment sets it, for a members Secret with renewed tokens'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand controller" -l generate -d 'Print the objects that run the controller in a management cluster instead of running it'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand controller" -l member-rbac -d 'With --generate: print instead what to apply in each member cluster — the controller\'s ServiceAccount there and Roles for exactly what it does'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand controller" -s v -l verbose -d 'Log what is done to stderr (-v info, -vv debug, -vvv trace)'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand controller" -s h -l help -d 'Print help'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand version" -s h -l help -d 'Print help'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand completion" -s h -l help -d 'Print help'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand help; and not __fish_seen_subcommand_from expose link certs verify up down controller version completion help" -f -a "expose" -d 'Deploy the east-west gateway to one or many clusters, or print it (--generate)'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand help; and not __fish_seen_subcommand_from expose link certs verify up down controller version completion help" -f -a "link" -d 'Link every cluster with every other (peer Gateways), or some pairs'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand help; and not __fish_seen_subcommand_from expose link certs verify up down controller version completion help" -f -a "certs" -d 'Create the shared root of trust and per-cluster intermediates, and install them'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand help; and not __fish_seen_subcommand_from expose link certs verify up down controller version completion help" -f -a "verify" -d 'Check that the mesh is consistent: trust, gateways, links, traffic (exit 0 healthy, 1 failed, 3 warnings with --strict)'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand help; and not __fish_seen_subcommand_from expose link certs verify up down controller version completion help" -f -a "up" -d 'Converge every cluster of a topology file: certs, install, expose, link, verify'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand help; and not __fish_seen_subcommand_from expose link certs verify up down controller version completion help" -f -a "down" -d 'Remove everything `up` created for a topology file (keys on disk are kept)'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand help; and not __fish_seen_subcommand_from expose link certs verify up down controller version completion help" -f -a "controller" -d 'Keep the mesh converged: watch the members, re-link what changes, refresh tokens (leader-elected)'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand help; and not __fish_seen_subcommand_from expose link certs verify up down controller version completion help" -f -a "version" -d 'Print the version and git commit'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand help; and not __fish_seen_subcommand_from expose link certs verify up down controller version completion help" -f -a "completion" -d 'Print the shell completion script of kubectl-mesh (bash, zsh, fish, powershell)'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand help; and not __fish_seen_subcommand_from expose link certs verify up down controller version completion help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand help; and __fish_seen_subcommand_from certs" -f -a "root" -d 'Create the root CA (or adopt an existing one with --root-cert/--root-key)'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand help; and __fish_seen_subcommand_from certs" -f -a "intermediate" -d 'Create the intermediate CA of one cluster, signed by the root'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand help; and __fish_seen_subcommand_from certs" -f -a "generate" -d 'Create the root if missing, then the intermediates of all clusters, concurrently'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand help; and __fish_seen_subcommand_from certs" -f -a "secret" -d 'Apply (or print with --generate) the cacerts Secret of each cluster'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand help; and __fish_seen_subcommand_from certs" -f -a "inspect" -d 'Show certificates from --dir or from clusters, and whether all share one root'
complete -c kubectl-mesh -n "__fish_kubectl_mesh_using_subcommand help; and __fish_seen_subcommand_from certs" -f -a "rotate" -d 'Replace a cluster\'s intermediate with a new one from the same root (old files backed up)'
