// The secret-looking value the fakes put into bodies that must never reach a client (shared by the
// Node-side fakes and the workerd-side tests).
export const LEAKED_SECRET = 'AKIAFAKESECRET0123456789';
