// The AWS SDK modules vending uses, imported on first use rather than at start: client-sts and credential-providers
// are about half of what a daemon would otherwise load before READY=1, and a daemon that only serves cached
// credentials never needs them again after its first AssumeRole. Each module is imported once per process; a failed
// import is not retried (it means a broken installation, and every caller fails closed on it).
type StsModule = typeof import('@aws-sdk/client-sts');
type ProvidersModule = typeof import('@aws-sdk/credential-providers');

let sts: Promise<StsModule> | undefined;
let providers: Promise<ProvidersModule> | undefined;

export const loadSts = (): Promise<StsModule> => (sts ??= import('@aws-sdk/client-sts'));
export const loadCredentialProviders = (): Promise<ProvidersModule> =>
  (providers ??= import('@aws-sdk/credential-providers'));

/** Both modules, in the background: the first session's open then does not wait for them. Errors surface at use. */
export function preloadVendingSdk(): void {
  loadSts().catch(() => undefined);
  loadCredentialProviders().catch(() => undefined);
}
