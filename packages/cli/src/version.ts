export const CLAWBACK_VERSION = '0.1.0';
