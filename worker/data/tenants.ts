export interface Tenant { id: string; name: string; defaultPool: string | null }
